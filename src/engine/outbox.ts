// outagePublish "queue": HTTP API events accepted while Redis was out of reach, in publish order,
// waiting to be sent to the other nodes. Bounded in age (outageQueueMs: older ones are dropped,
// counted and logged) and in size (a full queue refuses, so the API answers 503).
import type { Publication } from './types.js';

/** Entries kept at most; with 10 KB frames about 100 MB. */
export const OUTBOX_CAPACITY = 10_000;

export class Outbox {
  private entries: { publication: Publication; at: number }[] = [];

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

  /** The oldest `count` publications, still queued until removed. */
  head(count: number, now: number): Publication[] {
    this.expire(now);
    return this.entries.slice(0, count).map((e) => e.publication);
  }

  remove(count: number): void {
    this.entries.splice(0, count);
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
