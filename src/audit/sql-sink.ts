// Rows in the SQL table on databaseUrl (PostgreSQL or MySQL/MariaDB, through
// src/apps/sql-clients.ts), which `broadcasty migrate` creates: one multi-row INSERT per batch.
// Retention is one `DELETE … WHERE at < cutoff`, the cutoff computed here in UTC: every node
// running it hourly deletes the same rows, whichever runs first.
//
// Entries carry client text (a refusal's reason quotes what was sent). PostgreSQL refuses NUL in
// text and jsonb, so NUL is replaced before it gets there; and a row the database refuses for its
// data is dropped, not offered again: retrying it forever would stop the whole log.
import { DIALECTS, quoteTable, type Dialect, type SqlClient } from '../apps/sql-table.js';
import type { Logger } from '../logger.js';
import type { AuditEntry } from './entry.js';
import type { AuditSink } from './writer.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const COLUMNS = ['at', 'app_id', 'kind', 'actor', 'channel', 'event', 'bytes', 'detail'] as const;

function auditTableDdl(dialect: Dialect, table: string): string[] {
  const name = quoteTable(dialect, table);
  const short = table.split('.').pop()!;
  if (dialect === 'postgres') {
    return [
      `CREATE TABLE IF NOT EXISTS ${name} (
  "id" bigserial PRIMARY KEY,
  "at" timestamptz(3) NOT NULL,
  "app_id" text NULL,
  "kind" text NOT NULL,
  "actor" text NULL,
  "channel" text NULL,
  "event" text NULL,
  "bytes" integer NULL,
  "detail" jsonb NOT NULL
)`,
      `CREATE INDEX IF NOT EXISTS "${short}_app_at" ON ${name} ("app_id", "at")`,
      `CREATE INDEX IF NOT EXISTS "${short}_at" ON ${name} ("at")`,
    ];
  }
  return [
    `CREATE TABLE IF NOT EXISTS ${name} (
  \`id\` BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  \`at\` DATETIME(3) NOT NULL,
  \`app_id\` VARCHAR(191) COLLATE utf8mb4_bin NULL,
  \`kind\` VARCHAR(32) NOT NULL,
  \`actor\` TEXT NULL,
  \`channel\` VARCHAR(255) COLLATE utf8mb4_bin NULL,
  \`event\` VARCHAR(255) COLLATE utf8mb4_bin NULL,
  \`bytes\` INT NULL,
  \`detail\` LONGTEXT NOT NULL,
  INDEX \`audit_app_at\` (\`app_id\`, \`at\`),
  INDEX \`audit_at\` (\`at\`)
)${DIALECTS.mysql.tableOptions}`,
  ];
}

/** Creates the audit table and its indexes unless they exist (what `broadcasty migrate` runs). */
export async function createAuditTable(client: SqlClient, table: string): Promise<void> {
  for (const sql of auditTableDdl(client.dialect, table)) await client.query(sql, []);
}

/** PostgreSQL takes no NUL in text or jsonb ("unsupported Unicode escape sequence"). */
const withoutNul = (text: string): string => text.replaceAll('\0', '\uFFFD');
const textOrNull = (text: string | null): string | null => (text === null ? null : withoutNul(text));
const detailJson = (detail: Record<string, unknown>): string => JSON.stringify(detail, (_key, value: unknown) => (typeof value === 'string' ? withoutNul(value) : value));

/**
 * The row's data was refused, not the connection: PostgreSQL SQLSTATE classes 22 (data
 * exception) and 23 (integrity constraint); MySQL/MariaDB errors for a value that does not fit.
 */
const MYSQL_DATA_ERRORS = new Set([
  'ER_DUP_ENTRY',
  'ER_BAD_NULL_ERROR',
  'ER_DATA_TOO_LONG',
  'ER_WARN_DATA_OUT_OF_RANGE',
  'WARN_DATA_TRUNCATED',
  'ER_TRUNCATED_WRONG_VALUE',
  'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD',
  'ER_INVALID_CHARACTER_STRING',
  'ER_ILLEGAL_VALUE_FOR_TYPE',
  'ER_INVALID_JSON_TEXT',
  'ER_CONSTRAINT_FAILED',
  'ER_CHECK_CONSTRAINT_VIOLATED',
  'ER_NO_REFERENCED_ROW_2',
]);
const isDataError: Record<Dialect, (error: { code?: unknown }) => boolean> = {
  postgres: ({ code }) => typeof code === 'string' && /^2[23]/.test(code),
  mysql: ({ code }) => typeof code === 'string' && MYSQL_DATA_ERRORS.has(code),
};

/** MySQL's DATETIME takes no zone: the UTC wall clock, as every node writes and compares it. */
const sqlTime: Record<Dialect, (iso: string) => string> = {
  postgres: (iso) => iso,
  mysql: (iso) => iso.replace('T', ' ').replace('Z', ''),
};

export class SqlAuditSink implements AuditSink {
  private readonly table: string;

  constructor(
    private readonly client: SqlClient,
    table: string,
    private readonly retentionDays: number,
    private readonly log: Logger,
  ) {
    this.table = quoteTable(client.dialect, table);
  }

  /** A batch refused for its data is split until the bad rows are found; they are dropped and counted (never logged: they hold client text). */
  async write(entries: readonly AuditEntry[]): Promise<void> {
    const dropped = await this.insertKeepingGoodRows(entries);
    if (dropped > 0) this.log.error({ dropped }, 'audit rows refused by the database for their data were dropped');
  }

  /** Returns how many rows were refused; a connection error rejects, and the writer offers the batch again. */
  private async insertKeepingGoodRows(entries: readonly AuditEntry[]): Promise<number> {
    try {
      await this.insert(entries);
      return 0;
    } catch (error) {
      if (!isDataError[this.client.dialect](error as { code?: unknown })) throw error;
      if (entries.length === 1) return 1;
      const half = Math.ceil(entries.length / 2);
      return (await this.insertKeepingGoodRows(entries.slice(0, half))) + (await this.insertKeepingGoodRows(entries.slice(half)));
    }
  }

  private async insert(entries: readonly AuditEntry[]): Promise<void> {
    const { quote, placeholder } = DIALECTS[this.client.dialect];
    const time = sqlTime[this.client.dialect];
    const rows = entries.map((_, row) => `(${COLUMNS.map((__, column) => placeholder(row * COLUMNS.length + column + 1)).join(', ')})`);
    const values = entries.flatMap((e) => [time(e.at), textOrNull(e.app_id), e.kind, textOrNull(e.actor), textOrNull(e.channel), textOrNull(e.event), e.bytes, detailJson(e.detail)]);
    await this.client.query(`INSERT INTO ${this.table} (${COLUMNS.map(quote).join(', ')}) VALUES ${rows.join(', ')}`, values);
  }

  async prune(now: number): Promise<void> {
    const cutoff = sqlTime[this.client.dialect](new Date(now - this.retentionDays * DAY_MS).toISOString());
    await this.client.query(`DELETE FROM ${this.table} WHERE ${DIALECTS[this.client.dialect].quote('at')} < ${DIALECTS[this.client.dialect].placeholder(1)}`, [cutoff]);
  }

  close(): Promise<void> {
    return this.client.end();
  }
}
