// Notices a Redis that stopped answering without closing the socket (SIGSTOP, a frozen VM, a
// partition without a reset): no error ever arrives, commands just wait. One PING at a time;
// one interval for the whole engine, not a timer per command.
import type { Redis } from 'ioredis';

export class StallProbe {
  private timer: NodeJS.Timeout | undefined;
  /** The PING awaiting its reply (0 = none) and when it was sent. */
  private pending = 0;
  private sent = 0;
  private sentAt = 0;

  constructor(
    private readonly redis: Redis,
    private readonly intervalMs: number,
    private readonly stallMs: number,
    private readonly onStall: () => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    if (this.redis.status !== 'ready') {
      this.pending = 0;
      return;
    }
    if (this.pending === 0) {
      const ping = (this.pending = ++this.sent);
      this.sentAt = Date.now();
      const answered = () => {
        if (this.pending === ping) this.pending = 0;
      };
      this.redis.ping().then(answered, answered);
      return;
    }
    if (Date.now() - this.sentAt < this.stallMs) return;
    // After this process itself was busy the reply may be waiting unread in the socket: timers
    // run before I/O, so look again once pending I/O had its turn.
    const ping = this.pending;
    setImmediate(() => {
      if (this.pending === ping && this.redis.status === 'ready') this.onStall();
    });
  }
}
