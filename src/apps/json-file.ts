// The `json` registry: apps from a file `{"apps": [...]}`, swapped in whole when the file
// changes. A bad file at start stops the server; a bad edit later is logged and the previous
// apps stay, so a typo never takes every app offline.
import { readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { ConfigError } from '../config/env.js';
import { appsFileSchema } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { describeAppIssues } from './describe.js';
import type { App, AppRegistry } from './registry.js';

/** fs.watch misses changes on some mounts (NFS, Docker bind mounts): a stat poll catches them. */
const POLL_MS = 2000;
/** Editors and `cp` write in steps; read once the events have gone quiet. */
const SETTLE_MS = 50;

/** Reads and validates the apps file; the error names the file, app index, field and value. */
export function readAppsFile(file: string): App[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`Invalid setting appsFile: cannot read ${file} (${(error as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`Invalid setting appsFile: ${file} is not JSON (${(error as Error).message})`);
  }
  const parsed = appsFileSchema.safeParse(raw);
  if (parsed.success) return parsed.data.apps;
  throw new ConfigError(describeAppIssues(parsed.error, raw, file));
}

/** Changes when the file is rewritten or replaced (editors often write a new inode). */
function fileSignature(file: string): string {
  try {
    const stat = statSync(file);
    return `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

export class JsonFileRegistry implements AppRegistry {
  private readonly file: string;
  private byKey = new Map<string, App>();
  private byId = new Map<string, App>();
  private signature: string;
  private readonly watcher: FSWatcher | undefined;
  private readonly poll: NodeJS.Timeout;
  private settle: NodeJS.Timeout | undefined;

  constructor(
    file: string,
    private readonly log: Logger,
  ) {
    this.file = resolve(file);
    this.signature = fileSignature(this.file);
    this.swap(readAppsFile(this.file));
    this.watcher = this.watchDirectory();
    this.poll = setInterval(() => {
      if (fileSignature(this.file) !== this.signature) this.scheduleReload();
    }, POLL_MS);
    this.poll.unref();
  }

  async findByKey(key: string): Promise<App | undefined> {
    return this.byKey.get(key);
  }

  async findById(id: string): Promise<App | undefined> {
    return this.byId.get(id);
  }

  async close(): Promise<void> {
    this.watcher?.close();
    clearInterval(this.poll);
    clearTimeout(this.settle);
  }

  /** Re-reads the file now; false (and the previous apps kept) if it is unreadable or invalid. */
  reload(): boolean {
    // Recorded even on failure: a broken file is reported once, not at every poll.
    this.signature = fileSignature(this.file);
    try {
      const apps = readAppsFile(this.file);
      this.swap(apps);
      this.log.info({ file: this.file, apps: apps.length }, 'apps file reloaded');
      return true;
    } catch (error) {
      this.log.error({ file: this.file }, `apps file change ignored, previous apps kept: ${(error as Error).message}`);
      return false;
    }
  }

  private swap(apps: App[]): void {
    // New maps, not edits in place: a lookup never sees half of an update.
    this.byKey = new Map(apps.map((app) => [app.key, app]));
    this.byId = new Map(apps.map((app) => [app.id, app]));
  }

  /** The directory, not the file: a rename-over (editors, `mv`) would end a watch on the file. */
  private watchDirectory(): FSWatcher | undefined {
    const name = basename(this.file);
    try {
      const watcher = watch(dirname(this.file), { persistent: false }, (_event, changed) => {
        if (changed === null || changed === name) this.scheduleReload();
      });
      watcher.on('error', (error) => this.log.warn({ err: error, file: this.file }, 'apps file watch failed; polling only'));
      return watcher;
    } catch (error) {
      this.log.warn({ err: error, file: this.file }, 'apps file cannot be watched; polling only');
      return undefined;
    }
  }

  private scheduleReload(): void {
    clearTimeout(this.settle);
    this.settle = setTimeout(() => this.reload(), SETTLE_MS);
    this.settle.unref();
  }
}
