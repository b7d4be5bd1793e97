// The `postgres` and `mysql` registries: one row per app, looked up by key (WebSocket connect)
// or id (HTTP API) and cached in process (see cache.ts for why and how).
import type { Logger } from '../logger.js';
import { CachedLookup } from './cache.js';
import type { App, AppRegistry } from './registry.js';
import { rowToApp, selectAppSql, type SqlClient } from './sql-table.js';

export interface SqlRegistryOptions {
  table: string;
  cacheTtlMs: number;
  log: Logger;
}

/** Unknown keys are remembered at most this long (or the TTL, if shorter), ms. */
const NEGATIVE_TTL_MS = 1000;
const MAX_CACHED = 100_000;

export class SqlAppRegistry implements AppRegistry {
  private readonly byKey: CachedLookup;
  private readonly byId: CachedLookup;
  private readonly probe: Promise<void>;

  constructor(
    private readonly client: SqlClient,
    private readonly options: SqlRegistryOptions,
  ) {
    this.byKey = this.lookup('key');
    this.byId = this.lookup('id');
    this.probe = this.checkTable();
  }

  findByKey(key: string): Promise<App | undefined> {
    return this.byKey.get(key);
  }

  findById(id: string): Promise<App | undefined> {
    return this.byId.get(id);
  }

  async close(): Promise<void> {
    await this.probe;
    await this.client.end();
  }

  private lookup(by: 'id' | 'key'): CachedLookup {
    const { table, cacheTtlMs, log } = this.options;
    const sql = selectAppSql(this.client.dialect, table, by);
    const load = async (value: string): Promise<App | undefined> => {
      const rows = await this.client.query(sql, [value]);
      // MySQL's PAD SPACE collations match 'key ' to 'key'; only an exact match counts.
      const row = rows.find((r) => r[by] === value);
      return row === undefined ? undefined : rowToApp(row, table);
    };
    return new CachedLookup(load, {
      ttlMs: cacheTtlMs,
      negativeTtlMs: Math.min(NEGATIVE_TTL_MS, cacheTtlMs),
      maxEntries: MAX_CACHED,
      log,
      label: `${table}.${by}`,
    });
  }

  /** Says at start, not at the first connect, that the database or table is missing. */
  private async checkTable(): Promise<void> {
    try {
      await this.client.query(selectAppSql(this.client.dialect, this.options.table, 'id'), ['']);
    } catch (error) {
      this.options.log.error(
        { err: error, table: this.options.table },
        `app registry: cannot read table ${this.options.table} (${(error as Error).message}); is the database up, and did \`broadcasty migrate\` create the table?`,
      );
    }
  }
}
