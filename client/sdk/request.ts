// Request/response over channels: a request is a publish carrying a fresh correlationId and
// `meta.replyTo` (the requester's reply channel); the responder publishes its answer there as
// event `reply` with the same correlationId, and the requester settles the pending request whose
// id the reply carries. Replies nobody waits for (late, or someone else's) are ignored.
import { randomId } from './ids.js';
import { BroadcastyError, type Message, type PublishOptions, type PublishResult, type RequestOptions, type RespondOptions } from './types.js';

export const DEFAULT_TIMEOUT_MS = 10_000;
const REQUEST_EVENT = 'request';
const REPLY_EVENT = 'reply';

interface Pending {
  resolve(message: Message): void;
  reject(error: BroadcastyError): void;
  timer: ReturnType<typeof setTimeout>;
}

export class Requests {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly publish: (options: PublishOptions) => Promise<PublishResult>,
    private readonly replyChannel: () => string,
  ) {}

  /** `waitedMs`: spent before (on the reply channel's subscription); timeoutMs counts from the app's call. */
  request<Res = unknown>(options: RequestOptions, waitedMs = 0): Promise<Message<Res>> {
    const { channel, event = REQUEST_EVENT, payload, timeoutMs = DEFAULT_TIMEOUT_MS } = options;
    const correlationId = randomId();
    return new Promise<Message<Res>>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(correlationId, new BroadcastyError('timeout', `request ${event} on ${channel}: no reply within ${timeoutMs} ms`)), Math.max(0, timeoutMs - waitedMs));
      this.pending.set(correlationId, { resolve: resolve as (message: Message) => void, reject, timer });
      this.publish({ channel, event, payload, correlationId, meta: { replyTo: this.replyChannel() }, timeoutMs }).catch((error: BroadcastyError) => this.fail(correlationId, error));
    });
  }

  settle(message: Message): boolean {
    const pending = message.correlationId === undefined ? undefined : this.pending.get(message.correlationId);
    if (pending === undefined) return false;
    clearTimeout(pending.timer);
    this.pending.delete(message.correlationId!);
    pending.resolve(message);
    return true;
  }

  responder<Req, Res>(options: RespondOptions<Req, Res>): (message: Message<Req>) => Promise<void> {
    const event = options.event ?? REQUEST_EVENT;
    return async (message) => {
      const replyTo = message.meta?.replyTo;
      if (message.event !== event || typeof replyTo !== 'string' || message.correlationId === undefined) return;
      const payload = await options.handler(message);
      await this.publish({ channel: replyTo, event: REPLY_EVENT, payload, correlationId: message.correlationId });
    };
  }

  close(): void {
    for (const id of [...this.pending.keys()]) this.fail(id, new BroadcastyError('closed', 'the client is closed'));
  }

  private fail(correlationId: string, error: BroadcastyError): void {
    const pending = this.pending.get(correlationId);
    if (pending === undefined) return;
    clearTimeout(pending.timer);
    this.pending.delete(correlationId);
    pending.reject(error);
  }
}
