// The offline queue: publishes wait here while the client is offline or the server failed
// retryably, and go out strictly in order, one at a time, each with its own idempotency key
// (docs/PROTOCOL.md §13.5) so a resend after a lost answer never duplicates. Every store
// operation and send runs on one chain, so the store is never written concurrently and a
// publish() never overtakes an older waiting one. Each entry carries whose it is (the token's
// subject): a store shared by the users of one browser sends an entry only with its own user's
// token, and keeps the others for their next session.
import { subjectOf } from './token.js';
import { BroadcastyError, type ErrorCode, type OfflineStore, type OutboxHost, type PublishResult, type QueuedPublish } from './types.js';

export interface OutboxOptions {
  store: OfflineStore;
  /** Default 1000. */
  maxEntries: number;
  /** Which entry goes when full: the oldest stored, or the new one (`newest`). */
  dropPolicy: 'oldest' | 'newest';
  host: OutboxHost;
  send: (entry: QueuedPublish, token: string | null, timeoutMs: number) => Promise<PublishResult>;
  timeoutMs: number;
  onDropped: (entry: QueuedPublish, error: BroadcastyError) => void;
  /** The store failed (quota, corrupt file): the entries stay queued in memory but would not survive a restart. */
  onStoreError?: (error: unknown) => void;
}

/** Failures a later attempt can get past; the rest settle the publish as failed. */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['network', 'timeout', 'server_error', 'rate_limited']);
/** A retryable failure while online drains again after this, doubling up to the max (a Retry-After wins). */
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30_000;

interface Waiter {
  resolve(result: PublishResult): void;
  reject(error: BroadcastyError): void;
  timeoutMs: number;
}

export class Outbox {
  /** What the store holds, oldest first (loaded from it at start). */
  private entries: QueuedPublish[] = [];
  /** This session's publish() promises by entry id; entries loaded from the store have none. */
  private readonly waiters = new Map<string, Waiter>();
  private chain: Promise<void>;
  private closed = false;
  /** The one scheduled drain after a retryable failure while online (else nothing retries until a reconnect). */
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private retryDelayMs = RETRY_MIN_MS;

  constructor(private readonly options: OutboxOptions) {
    this.chain = this.storeOp(async () => {
      this.entries = await options.store.load();
    });
  }

  /** `timeoutMs` per HTTP attempt of this publish (the outbox's by default). */
  publish(entry: QueuedPublish, timeoutMs = this.options.timeoutMs): Promise<PublishResult> {
    if (this.closed) return Promise.reject(new BroadcastyError('closed', 'the client is closed'));
    const settled = new Promise<PublishResult>((resolve, reject) => this.waiters.set(entry.id, { resolve, reject, timeoutMs }));
    const queued = this.serialized(async () => {
      const subject = subjectOf(await this.options.host.token(false));
      const own = subject === undefined ? entry : { ...entry, subject };
      if (this.options.host.online && this.ownEntries(subject).length === 0) {
        if (await this.attempt(own)) return;
        await this.enqueue(own);
        return;
      }
      await this.enqueue(own);
      if (this.options.host.online) await this.drain();
    });
    // Only a throwing onDropped gets here: the publish must still settle.
    queued.catch((error: unknown) => this.settle(entry.id, undefined, asBroadcastyError(error)));
    return settled;
  }

  flush(): Promise<void> {
    return this.serialized(() => this.drain());
  }

  size(): number {
    return this.entries.length;
  }

  /** Empties the store, every user's entries; their publish() promises reject with `dropped`. */
  clear(): Promise<void> {
    return this.serialized(async () => {
      const error = new BroadcastyError('dropped', 'the offline queue was cleared (clearOffline())');
      for (const entry of this.entries) this.settle(entry.id, undefined, error);
      this.entries = [];
      await this.storeOp(() => this.options.store.clear());
    });
  }

  /** Pending publish() promises reject with `closed`; what is stored stays for the next client. */
  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const error = new BroadcastyError('closed', 'the client is closed');
    for (const waiter of this.waiters.values()) waiter.reject(error);
    this.waiters.clear();
  }

  /** Runs after every earlier step; a failed step does not stop the later ones. */
  private serialized(step: () => Promise<void>): Promise<void> {
    const run = this.chain.then(() => (this.closed ? undefined : step()));
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** The current user's entries, oldest first; stops at the first retryable failure (the entry stays for the next flush). */
  private async drain(): Promise<void> {
    const subject = subjectOf(await this.options.host.token(false));
    for (const entry of this.ownEntries(subject)) {
      if (this.closed || !(await this.attempt(entry))) return;
      this.entries = this.entries.filter((stored) => stored !== entry);
      await this.storeOp(() => this.options.store.remove(entry.id));
    }
  }

  /** Another user's entries wait for that user's next session: neither sent nor dropped. */
  private ownEntries(subject: string | undefined): QueuedPublish[] {
    return this.entries.filter((entry) => entry.subject === subject);
  }

  private retryLater(failure: BroadcastyError): void {
    if (this.retryTimer !== undefined || this.closed || !this.options.host.online) return;
    const delay = failure.retryAfterMs ?? this.retryDelayMs;
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, RETRY_MAX_MS);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.options.host.online) void this.flush().catch(() => undefined);
    }, delay);
  }

  /** Stores the entry at the end, first dropping one by the policy when full. */
  private async enqueue(entry: QueuedPublish): Promise<void> {
    if (this.entries.length >= this.options.maxEntries) {
      const victim = this.options.dropPolicy === 'newest' || this.entries.length === 0 ? entry : this.entries.shift()!;
      if (victim !== entry) await this.storeOp(() => this.options.store.remove(victim.id));
      this.drop(victim);
      if (victim === entry) return;
    }
    this.entries.push(entry);
    await this.storeOp(() => this.options.store.add(entry));
  }

  private drop(entry: QueuedPublish): void {
    const error = new BroadcastyError('dropped', `the offline queue is full (${this.options.maxEntries} entries, dropPolicy ${this.options.dropPolicy}): publish ${entry.event} to ${entry.channel} dropped`);
    this.settle(entry.id, undefined, error);
    this.options.onDropped(entry, error);
  }

  /** One send, with one token refresh after a 401. True when the publish settled (sent, or failed for good). */
  private async attempt(entry: QueuedPublish): Promise<boolean> {
    try {
      this.settle(entry.id, await this.sendWithToken(entry));
      this.retryDelayMs = RETRY_MIN_MS;
    } catch (error) {
      const failure = asBroadcastyError(error);
      if (RETRYABLE.has(failure.code)) {
        this.retryLater(failure);
        return false;
      }
      this.settle(entry.id, undefined, failure);
    }
    return true;
  }

  private settle(id: string, result: PublishResult | undefined, error?: BroadcastyError): void {
    const waiter = this.waiters.get(id);
    this.waiters.delete(id);
    if (error === undefined) waiter?.resolve(result!);
    else waiter?.reject(error);
  }

  private async sendWithToken(entry: QueuedPublish): Promise<PublishResult> {
    const { host, send } = this.options;
    const timeoutMs = this.waiters.get(entry.id)?.timeoutMs ?? this.options.timeoutMs;
    try {
      return await send(entry, await host.token(false), timeoutMs);
    } catch (error) {
      if (!(error instanceof BroadcastyError) || error.code !== 'unauthorized') throw error;
      return send(entry, await host.token(true), timeoutMs);
    }
  }

  private async storeOp(operation: () => Promise<void>): Promise<void> {
    try {
      await operation();
    } catch (error) {
      this.options.onStoreError?.(error);
    }
  }
}

/** A getToken() or fetch that threw something else is treated as a network failure: retryable. */
function asBroadcastyError(error: unknown): BroadcastyError {
  return error instanceof BroadcastyError ? error : new BroadcastyError('network', error instanceof Error ? error.message : String(error));
}
