// Anti-replay nonces, revoked token ids and one-second hit windows kept in process
// (docs/PROTOCOL.md §14.6): LocalEngine's own, and RedisEngine's hit count while Redis is out of
// reach. Like the idempotency keys (idempotency.ts) nothing has a timer: expired nonces and
// revocations are dropped at most once a minute on a write, and the hit windows of a past second
// go as a whole when the next second starts.
const SWEEP_EVERY_MS = 60_000;

/** Keys that hold until a deadline (epoch ms). */
class ExpiringKeys {
  private readonly deadlines = new Map<string, number>();
  private sweptAt = 0;

  holds(key: string, now: number): boolean {
    return (this.deadlines.get(key) ?? 0) > now;
  }

  set(key: string, deadline: number, now: number): void {
    if (now - this.sweptAt > SWEEP_EVERY_MS) this.sweep(now);
    this.deadlines.set(key, deadline);
  }

  private sweep(now: number): void {
    this.sweptAt = now;
    for (const [key, deadline] of this.deadlines) if (deadline <= now) this.deadlines.delete(key);
  }
}

export class LocalTokenGuards {
  private readonly nonces = new ExpiringKeys();
  private readonly revoked = new ExpiringKeys();
  /** Hits per bucket key in the latest epoch second counted. */
  private hits = { second: 0, counts: new Map<string, number>() };

  claimNonce(key: string, ttlMs: number, now: number): boolean {
    if (this.nonces.holds(key, now)) return false;
    this.nonces.set(key, now + ttlMs, now);
    return true;
  }

  revoke(key: string, untilMs: number, now: number): void {
    this.revoked.set(key, untilMs, now);
  }

  isRevoked(key: string, now: number): boolean {
    return this.revoked.holds(key, now);
  }

  /** A hit stamped with an earlier second than the latest (a late caller) counts in the latest window. */
  countHit(key: string, nowMs: number): number {
    const second = Math.floor(nowMs / 1000);
    if (second > this.hits.second) this.hits = { second, counts: new Map() };
    const count = (this.hits.counts.get(key) ?? 0) + 1;
    this.hits.counts.set(key, count);
    return count;
  }
}
