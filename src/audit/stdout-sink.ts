// JSON lines on process.stdout (not the pino logger: an entry is data for a collector, not a log
// record), one write per batch.
import { jsonLines, type AuditEntry } from './entry.js';
import type { AuditSink } from './writer.js';

export class StdoutAuditSink implements AuditSink {
  write(entries: readonly AuditEntry[]): Promise<void> {
    return new Promise((resolve, reject) => process.stdout.write(jsonLines(entries), (error) => (error ? reject(error) : resolve())));
  }

  async prune(): Promise<void> {}

  async close(): Promise<void> {}
}
