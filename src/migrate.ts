// `broadcasty migrate`: creates the SQL registry's apps table, the push devices table
// (pushDevices postgres or mysql, docs/PROTOCOL.md §16.1) and the audit table (audit.sink postgres
// or mysql, §17.4) if they do not exist. Safe to rerun.
import { ConfigError } from './config/env.js';
import type { ServerConfig } from './config/schema.js';
import { createAuditTable } from './audit/sql-sink.js';
import { createPushDevicesTable } from './push/devices/sql.js';
import { connectSql } from './apps/sql-clients.js';
import { createAppsTable, type Dialect, type SqlClient } from './apps/sql-table.js';

const isSql = (value: string): value is Dialect => value === 'postgres' || value === 'mysql';

/** Returns lines for the operator; throws ConfigError when nothing is kept in SQL. */
export async function migrate(config: ServerConfig): Promise<string> {
  const lines: string[] = [];
  if (isSql(config.appRegistry)) {
    await withClient(config, config.appRegistry, `apps table ${config.appsTable}`, (client) => createAppsTable(client, config.appsTable));
    lines.push(`apps table ${config.appsTable} is ready (${config.appRegistry})`);
  }
  if (isSql(config.pushDevices)) {
    const table = config.pushDevicesTable;
    await withClient(config, config.pushDevices, `push devices table ${table}`, (client) => createPushDevicesTable(client, table));
    lines.push(`push devices table ${table} is ready (${config.pushDevices})`);
  }
  if (isSql(config.audit.sink)) {
    const table = config.audit.table;
    await withClient(config, config.audit.sink, `audit table ${table}`, (client) => createAuditTable(client, table));
    lines.push(`audit table ${table} is ready (${config.audit.sink})`);
  }
  if (lines.length === 0) {
    throw new ConfigError(
      `Invalid setting appRegistry: got ${JSON.stringify(config.appRegistry)}; migrate needs "postgres" or "mysql" (BROADCASTY_APP_REGISTRY), or pushDevices "postgres" or "mysql" (BROADCASTY_PUSH_DEVICES), or audit.sink "postgres" or "mysql" (BROADCASTY_AUDIT), and databaseUrl (BROADCASTY_DATABASE_URL)`,
    );
  }
  return lines.join('\n');
}

async function withClient(config: ServerConfig, dialect: Dialect, what: string, create: (client: SqlClient) => Promise<void>): Promise<void> {
  const client = await connectSql(dialect, config.databaseUrl!);
  try {
    await create(client);
  } catch (error) {
    throw new Error(`cannot create ${what} at ${where(config.databaseUrl!)}: ${(error as Error).message}`);
  } finally {
    await client.end();
  }
}

/** Host and database only: the URL may carry a password, which must not reach the terminal or logs. */
function where(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.host}${parsed.pathname}`;
  } catch {
    return 'databaseUrl';
  }
}
