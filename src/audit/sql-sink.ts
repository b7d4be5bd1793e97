// Rows in the SQL table on databaseUrl (PostgreSQL or MySQL/MariaDB, through
// src/apps/sql-clients.ts), which `broadcasty migrate` creates: one multi-row INSERT per batch.
// Retention is one `DELETE … WHERE at < cutoff`, the cutoff computed here in UTC: every node
// running it hourly deletes the same rows, whichever runs first.
import { DIALECTS, quoteTable, type Dialect, type SqlClient } from '../apps/sql-table.js';
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
  ) {
    this.table = quoteTable(client.dialect, table);
  }

  async write(entries: readonly AuditEntry[]): Promise<void> {
    const { quote, placeholder } = DIALECTS[this.client.dialect];
    const time = sqlTime[this.client.dialect];
    const rows = entries.map((_, row) => `(${COLUMNS.map((__, column) => placeholder(row * COLUMNS.length + column + 1)).join(', ')})`);
    const values = entries.flatMap((e) => [time(e.at), e.app_id, e.kind, e.actor, e.channel, e.event, e.bytes, JSON.stringify(e.detail)]);
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
