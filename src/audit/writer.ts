// The audit log's ActivitySink: accept() only pushes the activity onto an array, so the publish
// path never waits for a disk or a database. A timer turns the buffer into entries and hands them
// to the sink every flushMs, sooner once a batch is full. While the sink fails, entries wait
// (up to MAX_BUFFERED, then the oldest are dropped and counted) and are offered again next tick.
import { ACTIVITY_KINDS, type Activity, type ActivityKind, type ActivitySink } from '../activity/types.js';
import type { Logger } from '../logger.js';
import { auditEntry, type AuditEntry } from './entry.js';

/** Entries in one write (one multi-row INSERT, one append). */
export const BATCH = 500;
/** What waits for a failing sink before the oldest go. */
export const MAX_BUFFERED = 100_000;
const PRUNE_EVERY_MS = 60 * 60 * 1000;

export const AUDITED_KINDS = (Object.keys(ACTIVITY_KINDS) as ActivityKind[]).filter((kind) => ACTIVITY_KINDS[kind].audited);

/** Where batches go: stdout, a file, an SQL table. */
export interface AuditSink {
  /** Rejects when nothing of the batch was kept; the writer offers it again. */
  write(entries: readonly AuditEntry[]): Promise<void>;
  /** Deletes what is older than the retention (rotated files, old rows). */
  prune(now: number): Promise<void>;
  close(): Promise<void>;
}

export interface AuditSettings {
  flushMs: number;
  payloads: boolean;
}

export class AuditWriter implements ActivitySink {
  readonly kinds = AUDITED_KINDS;
  private buffer: Activity[] = [];
  private flushing: Promise<void> | undefined;
  private soon = false;
  private dropped = 0;
  private failing = false;
  private readonly flushTimer: NodeJS.Timeout;
  private readonly pruneTimer: NodeJS.Timeout;

  constructor(
    private readonly sink: AuditSink,
    private readonly settings: AuditSettings,
    private readonly log: Logger,
  ) {
    this.flushTimer = setInterval(() => void this.flush(), settings.flushMs);
    this.pruneTimer = setInterval(() => void this.prune(), PRUNE_EVERY_MS);
    this.flushTimer.unref();
    this.pruneTimer.unref();
    void this.prune();
  }

  accept(activity: Activity): void {
    this.buffer.push(activity);
    if (this.buffer.length > MAX_BUFFERED) this.drop(this.buffer.length - MAX_BUFFERED + BATCH);
    if (this.buffer.length >= BATCH && !this.soon) {
      this.soon = true;
      setImmediate(() => void this.flush());
    }
  }

  /** Writes what is buffered, one batch at a time; one flush runs at once. */
  flush(): Promise<void> {
    this.flushing ??= this.writeAll().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  /** Stops the timers and writes what is left (once: a sink still down then loses it, logged). */
  async stop(): Promise<void> {
    clearInterval(this.flushTimer);
    clearInterval(this.pruneTimer);
    await this.flushing;
    await this.flush();
    if (this.buffer.length > 0) this.log.error({ lost: this.buffer.length }, 'audit entries not written at shutdown: the audit sink is failing');
    await this.sink.close();
  }

  private async writeAll(): Promise<void> {
    this.soon = false;
    while (this.buffer.length > 0) {
      const taken = this.buffer.splice(0, BATCH);
      try {
        await this.sink.write(taken.map((activity) => auditEntry(activity, this.settings.payloads)));
      } catch (error) {
        this.buffer.unshift(...taken);
        if (this.buffer.length > MAX_BUFFERED) this.drop(this.buffer.length - MAX_BUFFERED);
        if (!this.failing) this.log.warn({ err: (error as Error).message, waiting: this.buffer.length }, 'audit sink failing; entries wait in memory');
        this.failing = true;
        return;
      }
      if (this.failing) {
        this.log.warn({ dropped: this.dropped }, 'audit sink writing again');
        this.failing = false;
        this.dropped = 0;
      }
    }
  }

  private drop(count: number): void {
    if (this.dropped === 0) this.log.warn({ kept: MAX_BUFFERED }, 'audit buffer full: the oldest entries are dropped until the sink writes again');
    this.buffer.splice(0, count);
    this.dropped += count;
  }

  private async prune(): Promise<void> {
    try {
      await this.sink.prune(Date.now());
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, 'audit retention failed; retried in an hour');
    }
  }
}
