// The audit log's ActivitySink: accept() turns the activity into its entry (so a payload the log
// does not keep is not held either) and pushes it onto an array, so the publish path never waits
// for a disk or a database. A timer hands the buffer to the sink every flushMs, sooner once a
// batch is full. While the sink fails, entries wait (up to MAX_BUFFERED entries and
// MAX_BUFFERED_BYTES, then the oldest are dropped and counted) and are offered again next tick.
import { ACTIVITY_KINDS, type Activity, type ActivityKind, type ActivitySink } from '../activity/types.js';
import type { Logger } from '../logger.js';
import { AuthFailureLimit, WINDOW_MS } from './auth-failure-limit.js';
import { auditEntry, type AuditEntry } from './entry.js';

/** Entries in one write (one multi-row INSERT, one append). */
export const BATCH = 500;
/** What waits for a failing sink before the oldest go. */
export const MAX_BUFFERED = 100_000;
/** What waiting entries may take in memory (estimated) before the oldest go: with payloads on, 100k entries could be gigabytes. */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;
/** A rough share per entry beyond its text: the object, its keys, the array slot. */
const ENTRY_OVERHEAD_BYTES = 256;
const PRUNE_EVERY_MS = 60 * 60 * 1000;

const AUDITED_KINDS = (Object.keys(ACTIVITY_KINDS) as ActivityKind[]).filter((kind) => ACTIVITY_KINDS[kind].audited);

/** Where batches go: stdout, a file, an SQL table. */
export interface AuditSink {
  /** Rejects when nothing of the batch was kept; the writer offers it again. */
  write(entries: readonly AuditEntry[]): Promise<void>;
  /** Deletes what is older than the retention (rotated files, old rows). */
  prune(now: number): Promise<void>;
  close(): Promise<void>;
}

interface AuditSettings {
  flushMs: number;
  payloads: boolean;
}

interface Waiting {
  entry: AuditEntry;
  bytes: number;
}

/** Characters of a detail value's text: its strings and string lists (numbers fit in the overhead). */
const textLength = (value: unknown): number => (typeof value === 'string' ? value.length : Array.isArray(value) ? value.reduce((sum: number, item) => sum + textLength(item), 0) : 0);

/**
 * UTF-16 strings: two bytes a character. Estimated once per entry, in accept(), from lengths
 * alone: the sink encodes the entry (and a kept payload) anyway, so encoding it here too would
 * double the cost of every audited publish.
 */
const estimatedBytes = (entry: AuditEntry): number =>
  ENTRY_OVERHEAD_BYTES + 2 * [entry.app_id, entry.actor, entry.channel, entry.event, ...Object.values(entry.detail)].reduce((sum: number, value) => sum + textLength(value), 0);

export class AuditWriter implements ActivitySink {
  readonly kinds = AUDITED_KINDS;
  private buffer: Waiting[] = [];
  private bufferedBytes = 0;
  private readonly authFailures = new AuthFailureLimit();
  private flushing: Promise<void> | undefined;
  private soon = false;
  private dropped = 0;
  private failing = false;
  private readonly flushTimer: NodeJS.Timeout;
  private readonly pruneTimer: NodeJS.Timeout;
  private readonly authFailureTimer: NodeJS.Timeout;

  constructor(
    private readonly sink: AuditSink,
    private readonly settings: AuditSettings,
    private readonly log: Logger,
    private readonly maxBufferedBytes = MAX_BUFFERED_BYTES,
  ) {
    this.flushTimer = setInterval(() => void this.flush(), settings.flushMs);
    this.pruneTimer = setInterval(() => void this.prune(), PRUNE_EVERY_MS);
    this.authFailureTimer = setInterval(() => this.summarizeAuthFailures(), WINDOW_MS);
    this.flushTimer.unref();
    this.pruneTimer.unref();
    this.authFailureTimer.unref();
    void this.prune();
  }

  accept(activity: Activity): void {
    if (activity.kind === 'auth_failure' && !this.authFailures.admit(activity)) return;
    this.push(auditEntry(activity, this.settings.payloads));
  }

  private push(entry: AuditEntry): void {
    const bytes = estimatedBytes(entry);
    this.buffer.push({ entry, bytes });
    this.bufferedBytes += bytes;
    if (this.buffer.length > MAX_BUFFERED) this.drop(this.buffer.length - MAX_BUFFERED + BATCH);
    if (this.bufferedBytes > this.maxBufferedBytes) this.dropBytes();
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
    clearInterval(this.authFailureTimer);
    this.summarizeAuthFailures();
    await this.flushing;
    await this.flush();
    if (this.buffer.length > 0) this.log.error({ lost: this.buffer.length }, 'audit entries not written at shutdown: the audit sink is failing');
    await this.sink.close();
  }

  private async writeAll(): Promise<void> {
    this.soon = false;
    while (this.buffer.length > 0) {
      const taken = this.buffer.splice(0, BATCH);
      const takenBytes = taken.reduce((sum, waiting) => sum + waiting.bytes, 0);
      this.bufferedBytes -= takenBytes;
      try {
        await this.sink.write(taken.map((waiting) => waiting.entry));
      } catch (error) {
        this.buffer.unshift(...taken);
        this.bufferedBytes += takenBytes;
        if (this.buffer.length > MAX_BUFFERED) this.drop(this.buffer.length - MAX_BUFFERED);
        if (this.bufferedBytes > this.maxBufferedBytes) this.dropBytes();
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
    if (this.dropped === 0) this.log.warn({ kept: MAX_BUFFERED, keptBytes: this.maxBufferedBytes }, 'audit buffer full: the oldest entries are dropped until the sink writes again');
    for (const waiting of this.buffer.splice(0, count)) this.bufferedBytes -= waiting.bytes;
    this.dropped += count;
  }

  /** Drops the oldest until the estimate fits again (at least one: the newest may alone be too big). */
  private dropBytes(): void {
    let count = 0;
    for (let bytes = this.bufferedBytes; bytes > this.maxBufferedBytes && count < this.buffer.length; count++) bytes -= this.buffer[count]!.bytes;
    this.drop(count);
  }

  /** The minute's auth_failure summaries go into the buffer like any entry. */
  private summarizeAuthFailures(): void {
    for (const summary of this.authFailures.summaries(Date.now())) this.push(auditEntry(summary, this.settings.payloads));
  }

  private async prune(): Promise<void> {
    try {
      await this.sink.prune(Date.now());
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, 'audit retention failed; retried in an hour');
    }
  }
}
