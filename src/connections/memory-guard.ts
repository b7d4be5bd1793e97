// Refuses new sockets while the process is over its memory bound (maxMemoryBytes): 4100 makes
// pusher-js retry after 1 s, likely on another node behind the load balancer, instead of this
// node growing until the kernel kills it with every socket on it.
import { memoryUsage } from 'node:process';
import type { Logger } from '../logger.js';
import { clockMs } from '../hub/connection.js';

/** RSS is read at most this often, however fast sockets arrive. */
const SAMPLE_MS = 1000;
/** While refusing, one log line per this period says how many were refused. */
const LOG_EVERY_MS = 60_000;

export class MemoryGuard {
  private sampledAt = -SAMPLE_MS;
  private rss = 0;
  private refused = 0;
  private loggedAt = -LOG_EVERY_MS;

  constructor(
    private readonly maxBytes: number | null,
    private readonly log: Logger,
  ) {}

  /** False when a new socket must be refused. */
  admits(): boolean {
    if (this.maxBytes === null) return true;
    const now = clockMs();
    if (now - this.sampledAt >= SAMPLE_MS) {
      this.sampledAt = now;
      this.rss = memoryUsage.rss();
    }
    if (this.rss <= this.maxBytes) {
      this.refused = 0;
      return true;
    }
    this.refused += 1;
    if (now - this.loggedAt >= LOG_EVERY_MS) {
      this.loggedAt = now;
      this.log.error(
        { rssBytes: this.rss, maxMemoryBytes: this.maxBytes, refusedSinceLastLog: this.refused },
        'memory over maxMemoryBytes: refusing new connections with 4100',
      );
      this.refused = 0;
    }
    return false;
  }
}
