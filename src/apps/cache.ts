// The server looks an app up on every WebSocket connect and every HTTP API request, so a SQL
// registry must answer from memory: after the first lookup of a key the cached answer is served
// at once, and a stale one is re-read in the background rather than awaited. A slow or down
// database therefore never delays a connection for an app it has already seen.
import type { Logger } from '../logger.js';
import type { App } from './registry.js';

export interface CacheOptions {
  /** A found app is served this long before a lookup triggers a background re-read, ms. */
  ttlMs: number;
  /**
   * An unknown key is answered "unknown" from memory this long, ms. Once that lapses the next
   * lookup waits for the database again: serving a stale "unknown" would refuse a just-created
   * app with 4001, which pusher-js never retries.
   */
  negativeTtlMs: number;
  /** Bounds memory when clients try many random keys; the oldest entry goes first. */
  maxEntries: number;
  log: Logger;
  /** Names the lookup in log lines, e.g. `broadcasty_apps.key`. */
  label: string;
}

interface Entry {
  app: App | undefined;
  fetchedAt: number;
}

export class CachedLookup {
  private readonly entries = new Map<string, Entry>();
  /** One database read per key at a time, however many sockets ask at once. */
  private readonly inflight = new Map<string, Promise<App | undefined>>();

  constructor(
    private readonly load: (value: string) => Promise<App | undefined>,
    private readonly options: CacheOptions,
  ) {}

  async get(value: string): Promise<App | undefined> {
    const entry = this.entries.get(value);
    if (entry === undefined) return this.fetch(value);
    const age = Date.now() - entry.fetchedAt;
    if (entry.app !== undefined) {
      if (age >= this.options.ttlMs) this.refresh(value, entry);
      return entry.app;
    }
    return age < this.options.negativeTtlMs ? undefined : this.fetch(value);
  }

  /** First lookups reject when the database fails: there is nothing to serve instead. */
  private fetch(value: string): Promise<App | undefined> {
    let pending = this.inflight.get(value);
    if (pending === undefined) {
      pending = this.load(value)
        .then((app) => {
          this.store(value, app);
          return app;
        })
        .finally(() => this.inflight.delete(value));
      this.inflight.set(value, pending);
    }
    return pending;
  }

  private refresh(value: string, entry: Entry): void {
    if (this.inflight.has(value)) return;
    this.fetch(value).catch((error: unknown) => {
      // Keep serving what we have (an outage must not log everyone out) and retry after a TTL.
      entry.fetchedAt = Date.now();
      this.options.log.warn({ err: error, lookup: this.options.label, value }, 'app registry refresh failed; serving the cached app');
    });
  }

  private store(value: string, app: App | undefined): void {
    // Re-inserting moves the key to the end, so the eviction below drops the least recently fetched.
    this.entries.delete(value);
    this.entries.set(value, { app, fetchedAt: Date.now() });
    if (this.entries.size > this.options.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }
}
