// outagePublish "queue": HTTP API events accepted while Redis was out of reach, in publish order,
// waiting to be sent to the other nodes. Bounded in age (outageQueueMs: older ones are dropped,
// counted and logged) and in size (a full queue refuses, so the API answers 503).
import type { Publication } from './types.js';

/** Entries kept at most; with 10 KB frames about 100 MB. */
const OUTBOX_CAPACITY = 10_000;
/** Publications sent per round trip of a flush. */
const FLUSH_BATCH = 100;

export class Outbox {
  private entries: { publication: Publication; at: number }[] = [];
  private flushing = false;

  constructor(
    private readonly maxAgeMs: number,
    /** Called for each app that lost events, with how many. */
    private readonly dropped: (appId: string, count: number) => void,
  ) {}

  get size(): number {
    return this.entries.length;
  }

  /** False when full. */
  add(publication: Publication, now: number): boolean {
    this.expire(now);
    if (this.entries.length >= OUTBOX_CAPACITY) return false;
    this.entries.push({ publication, at: now });
    return true;
  }

  /**
   * Sends the queue, oldest first, FLUSH_BATCH at a time (pipelined, in order), while `linked()`
   * holds; `send` resolves false when a publication did not get through. One flush at a time.
   */
  async flush(send: (publication: Publication) => Promise<boolean>, linked: () => boolean): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (linked() && this.entries.length > 0) {
        this.expire(Date.now());
        const batch = this.entries.slice(0, FLUSH_BATCH);
        const failed = (await Promise.all(batch.map((e) => send(e.publication)))).indexOf(false);
        // From the first failure on they are kept: a retry may repeat some, never lose or reorder them.
        this.entries.splice(0, failed === -1 ? batch.length : failed);
        if (failed !== -1) return;
      }
    } finally {
      this.flushing = false;
    }
  }

  private expire(now: number): void {
    let stale = 0;
    while (stale < this.entries.length && now - this.entries[stale].at > this.maxAgeMs) stale += 1;
    if (stale === 0) return;
    const perApp = new Map<string, number>();
    for (const { publication } of this.entries.splice(0, stale)) perApp.set(publication.appId, (perApp.get(publication.appId) ?? 0) + 1);
    for (const [appId, count] of perApp) this.dropped(appId, count);
  }
}
