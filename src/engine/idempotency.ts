// HTTP publish idempotency keys kept in process (docs/PROTOCOL.md §13.5): LocalEngine's own, and
// RedisEngine's while Redis is out of reach. Each key expires after its window; an expired key
// is dropped when it is next claimed, and all of them at most once a minute on a claim, so there
// is no timer per key.
import type { IdempotencyClaim } from './types.js';

const SWEEP_EVERY_MS = 60_000;
const CLAIMED: IdempotencyClaim = Object.freeze({ status: 'claimed' });
const PENDING: IdempotencyClaim = Object.freeze({ status: 'pending' });

interface Entry {
  /** Undefined while the claiming request is still publishing. */
  answer: string | undefined;
  expiresAt: number;
}

export class LocalIdempotencyKeys {
  private readonly entries = new Map<string, Entry>();
  private sweptAt = 0;

  claim(key: string, windowMs: number, now: number): IdempotencyClaim {
    if (now - this.sweptAt > SWEEP_EVERY_MS) this.sweep(now);
    const entry = this.entries.get(key);
    if (entry !== undefined && entry.expiresAt > now) return entry.answer === undefined ? PENDING : { status: 'done', answer: entry.answer };
    this.entries.set(key, { answer: undefined, expiresAt: now + windowMs });
    return CLAIMED;
  }

  /** Like Redis SET XX: a claim that expired meanwhile stays gone. */
  complete(key: string, answer: string, windowMs: number, now: number): void {
    const entry = this.entries.get(key);
    if (entry === undefined || entry.expiresAt <= now) return;
    entry.answer = answer;
    entry.expiresAt = now + windowMs;
  }

  release(key: string): void {
    this.entries.delete(key);
  }

  private sweep(now: number): void {
    this.sweptAt = now;
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }
}
