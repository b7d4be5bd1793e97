// The one apps table both SQL drivers read: its DDL per dialect and the row → App mapping.
// Common settings are columns (easy to edit by hand, indexable); everything else, webhooks
// and history rules included, lives in the JSON column `settings` under the same camelCase names
// as config.
import { appSchema } from '../config/schema.js';
import { dottedPath } from '../config/issues.js';
import { describeAppIssues } from './describe.js';
import type { App } from './registry.js';

export type Dialect = 'postgres' | 'mysql';

/** What a driver must offer; pg and mysql2 pools are wrapped to this in sql-clients.ts. */
export interface SqlClient {
  readonly dialect: Dialect;
  query(sql: string, params: unknown[]): Promise<Record<string, unknown>[]>;
  end(): Promise<void>;
}

export const DIALECTS: Record<Dialect, { quote: (name: string) => string; placeholder: (n: number) => string; tableOptions: string }> = {
  postgres: { quote: (name) => `"${name}"`, placeholder: (n) => `$${n}`, tableOptions: '' },
  // `key` is reserved in MySQL, hence quoting everywhere.
  mysql: { quote: (name) => `\`${name}\``, placeholder: () => '?', tableOptions: ' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4' },
};

type Kind = 'string' | 'bool' | 'int' | 'json';

interface Column {
  name: string;
  /** The appSchema field it fills; undefined for `settings`, which fills the rest. */
  field?: keyof App;
  kind: Kind;
  type: Record<Dialect, string>;
}

// Keys and ids compare byte for byte (Pusher keys are case-sensitive), hence utf8mb4_bin.
// Nullable columns mean "the default" when NULL, so appSchema stays the one place for defaults.
const COLUMNS: Column[] = [
  { name: 'id', field: 'id', kind: 'string', type: { postgres: 'text PRIMARY KEY', mysql: 'VARCHAR(191) COLLATE utf8mb4_bin NOT NULL PRIMARY KEY' } },
  { name: 'key', field: 'key', kind: 'string', type: { postgres: 'text NOT NULL UNIQUE', mysql: 'VARCHAR(191) COLLATE utf8mb4_bin NOT NULL UNIQUE' } },
  { name: 'secret', field: 'secret', kind: 'string', type: { postgres: 'text NOT NULL', mysql: 'VARCHAR(255) NOT NULL' } },
  { name: 'enabled', field: 'enabled', kind: 'bool', type: { postgres: 'boolean NOT NULL DEFAULT true', mysql: 'BOOLEAN NOT NULL DEFAULT TRUE' } },
  { name: 'max_connections', field: 'maxConnections', kind: 'int', type: { postgres: 'integer NULL', mysql: 'INT NULL' } },
  { name: 'client_events', field: 'clientEvents', kind: 'bool', type: { postgres: 'boolean NULL', mysql: 'BOOLEAN NULL' } },
  { name: 'user_authentication', field: 'userAuthentication', kind: 'bool', type: { postgres: 'boolean NULL', mysql: 'BOOLEAN NULL' } },
  { name: 'http_rate_limit', field: 'httpRateLimit', kind: 'int', type: { postgres: 'integer NULL', mysql: 'INT NULL' } },
  { name: 'settings', kind: 'json', type: { postgres: "jsonb NOT NULL DEFAULT '{}'", mysql: "JSON NOT NULL DEFAULT ('{}')" } },
];

const FIELD_COLUMNS = COLUMNS.filter((c): c is Column & { field: keyof App } => c.field !== undefined);

/** `schema.table` → `"schema"."table"`; the name was already checked against an identifier pattern. */
export function quoteTable(dialect: Dialect, table: string): string {
  return table.split('.').map(DIALECTS[dialect].quote).join('.');
}

export function appsTableDdl(dialect: Dialect, table: string): string {
  const { quote, tableOptions } = DIALECTS[dialect];
  const lines = COLUMNS.map((c) => `  ${quote(c.name)} ${c.type[dialect]}`);
  return `CREATE TABLE IF NOT EXISTS ${quoteTable(dialect, table)} (\n${lines.join(',\n')}\n)${tableOptions}`;
}

/** Creates the apps table unless it exists (what `broadcasty migrate` runs). */
export async function createAppsTable(client: SqlClient, table: string): Promise<void> {
  await client.query(appsTableDdl(client.dialect, table), []);
}

export function selectAppSql(dialect: Dialect, table: string, by: 'id' | 'key'): string {
  const { quote, placeholder } = DIALECTS[dialect];
  return `SELECT ${COLUMNS.map((c) => quote(c.name)).join(', ')} FROM ${quoteTable(dialect, table)} WHERE ${quote(by)} = ${placeholder(1)}`;
}

/** Thrown for a row appSchema refuses; the message names table, row, column or setting, and value. */
export class AppRowError extends Error {}

/** Drivers disagree on types: mysql2 gives BOOLEAN as 0/1 and MariaDB's JSON as text. */
function columnValue(kind: Kind, value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  if (kind === 'bool' && (value === 0 || value === 1)) return value === 1;
  if (kind === 'json' && typeof value === 'string') {
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  }
  return value;
}

export function rowToApp(row: Record<string, unknown>, table: string): App {
  const where = `table ${table}, row id ${JSON.stringify(row.id)}`;
  const settings = columnValue('json', row.settings) ?? {};
  if (typeof settings !== 'object' || Array.isArray(settings)) {
    throw new AppRowError(`Invalid app in ${where}: settings: got ${JSON.stringify(settings)}; expected a JSON object`);
  }
  const raw: Record<string, unknown> = { ...settings };
  for (const column of FIELD_COLUMNS) {
    // One place per setting: a value in both would leave the operator guessing which one counts.
    if (column.field in raw) {
      throw new AppRowError(`Invalid app in ${where}: settings.${column.field}: set it in the column ${column.name} instead`);
    }
    const value = columnValue(column.kind, row[column.name]);
    if (value !== undefined) raw[column.field] = value;
  }
  const parsed = appSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new AppRowError(describeAppIssues(parsed.error, raw, where, columnOrSetting));
}

/** Issue paths are appSchema fields; the operator edits columns or `settings`, so name those. */
function columnOrSetting(path: (string | number)[]): string {
  const column = FIELD_COLUMNS.find((c) => c.field === path[0]);
  return column !== undefined ? [column.name, ...path.slice(1)].map(String).join('.') : `settings.${dottedPath(path)}`;
}
