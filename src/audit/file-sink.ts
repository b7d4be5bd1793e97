// JSON lines appended to one file, one write per batch. Past maxFileBytes the file is renamed to
// `{file}.{UTC timestamp}` and the next batch starts a new one; rotated files older than
// retentionDays are deleted. Exactly one process writes and rotates a given file: two processes
// renaming the same path could each rotate the other's fresh file (or overwrite a rotated one), so
// a cluster worker writes `{file}.worker{n}` (n: its cluster worker id) and separate processes on
// one machine must be given separate files. A respawned worker gets a new id, so retention also
// deletes other workers' files (live or rotated) once they are older than retentionDays.
import cluster from 'node:cluster';
import { appendFile, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Logger } from '../logger.js';
import { jsonLines, type AuditEntry } from './entry.js';
import type { AuditSink } from './writer.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/**
 * What retention may delete after `{file}.`: a rotated file (`20261202T174300123Z`, `-2` when two
 * rotations fall in one millisecond), a worker's file (`worker3`) or a worker's rotated file.
 */
const PRUNABLE_SUFFIX = /^(?:worker\d+|(?:worker\d+\.)?\d{8}T\d{9}Z(?:-\d+)?)$/;

/** The file this process writes: the setting itself, or a worker's own file. */
function processAuditFile(file: string): string {
  return cluster.isWorker ? `${file}.worker${cluster.worker!.id}` : file;
}

const stamp = (now: number) => new Date(now).toISOString().replace(/[-:.]/g, '');

export class FileAuditSink implements AuditSink {
  private readonly dir: string;
  /** The setting's file name, which every worker's file starts with. */
  private readonly name: string;
  /** The file this process writes (never pruned). */
  private readonly file: string;

  constructor(
    file: string,
    private readonly maxFileBytes: number,
    private readonly retentionDays: number,
    private readonly log: Logger,
  ) {
    this.dir = dirname(file);
    this.name = basename(file);
    this.file = processAuditFile(file);
  }

  async write(entries: readonly AuditEntry[]): Promise<void> {
    await appendFile(this.file, jsonLines(entries));
    // The batch is written: a failed rotation must not make the writer offer it again.
    try {
      if ((await stat(this.file)).size >= this.maxFileBytes) await this.rotate();
    } catch (error) {
      this.log.warn({ err: (error as Error).message, file: this.file }, 'audit file rotation failed; retried after the next batch');
    }
  }

  async prune(now: number): Promise<void> {
    const oldest = now - this.retentionDays * DAY_MS;
    for (const name of await readdir(this.dir)) {
      if (!name.startsWith(`${this.name}.`) || !PRUNABLE_SUFFIX.test(name.slice(this.name.length + 1))) continue;
      const path = join(this.dir, name);
      if (path !== this.file) await unlinkIfOlder(path, oldest);
    }
  }

  async close(): Promise<void> {}

  private async rotate(): Promise<void> {
    const base = `${this.file}.${stamp(Date.now())}`;
    let target = base;
    for (let n = 2; await exists(target); n++) target = `${base}-${n}`;
    await rename(this.file, target);
  }
}

/**
 * Every worker prunes the same files at about the same moment (at start, then hourly): a file
 * another worker deleted since the listing is pruned, not a failure that skips the rest.
 */
async function unlinkIfOlder(path: string, oldest: number): Promise<void> {
  try {
    if ((await stat(path)).mtimeMs < oldest) await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );
