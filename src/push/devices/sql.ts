// Devices in one SQL table (PostgreSQL or MySQL/MariaDB, through src/apps/sql-clients.ts), which
// `broadcasty migrate` creates. Interests are one text column, space-separated with a space at
// each end (a space is not allowed in an interest), so `LIKE '% news %'` finds a follower.
// The maxDevicesPerUser trim runs after the upsert, not in one transaction with it (the pool
// has no transactions): two registrations of one user at the same moment may each keep one more.
import { DIALECTS, quoteTable, type Dialect, type SqlClient } from '../../apps/sql-table.js';
import type { Device, DeviceStore, ProviderName } from '../types.js';

const COLUMNS = ['app_id', 'id', 'provider', 'token', 'web_push_keys', 'sandbox', 'user_id', 'interests', 'created_at'] as const;

function pushDevicesTableDdl(dialect: Dialect, table: string): string[] {
  const name = quoteTable(dialect, table);
  if (dialect === 'postgres') {
    const index = `${table.split('.').pop()}_user`;
    return [
      `CREATE TABLE IF NOT EXISTS ${name} (
  "app_id" text NOT NULL,
  "id" text NOT NULL,
  "provider" text NOT NULL,
  "token" text NOT NULL,
  "web_push_keys" text NULL,
  "sandbox" boolean NOT NULL DEFAULT false,
  "user_id" text NULL,
  "interests" text NOT NULL DEFAULT ' ',
  "created_at" bigint NOT NULL,
  PRIMARY KEY ("app_id", "id")
)`,
      `CREATE INDEX IF NOT EXISTS "${index}" ON ${name} ("app_id", "user_id")`,
    ];
  }
  return [
    `CREATE TABLE IF NOT EXISTS ${name} (
  \`app_id\` VARCHAR(191) COLLATE utf8mb4_bin NOT NULL,
  \`id\` VARCHAR(64) COLLATE utf8mb4_bin NOT NULL,
  \`provider\` VARCHAR(16) NOT NULL,
  \`token\` TEXT NOT NULL,
  \`web_push_keys\` TEXT NULL,
  \`sandbox\` BOOLEAN NOT NULL DEFAULT FALSE,
  \`user_id\` VARCHAR(191) COLLATE utf8mb4_bin NULL,
  \`interests\` TEXT COLLATE utf8mb4_bin NOT NULL,
  \`created_at\` BIGINT NOT NULL,
  PRIMARY KEY (\`app_id\`, \`id\`),
  INDEX \`push_devices_user\` (\`app_id\`, \`user_id\`)
)${DIALECTS.mysql.tableOptions}`,
  ];
}

/** Creates the devices table and its index unless they exist (what `broadcasty migrate` runs). */
export async function createPushDevicesTable(client: SqlClient, table: string): Promise<void> {
  for (const sql of pushDevicesTableDdl(client.dialect, table)) await client.query(sql, []);
}

/** `_` is a LIKE wildcard and may be in an interest; `\` is both dialects' default escape. */
const likeInterest = (interest: string) => `% ${interest.replace(/_/g, '\\_')} %`;

export class SqlDeviceStore implements DeviceStore {
  private readonly table: string;
  private readonly q: (name: string) => string;
  private readonly p: (n: number) => string;

  constructor(
    private readonly client: SqlClient,
    table: string,
  ) {
    this.table = quoteTable(client.dialect, table);
    this.q = DIALECTS[client.dialect].quote;
    this.p = DIALECTS[client.dialect].placeholder;
  }

  private select(where: string): string {
    return `SELECT ${COLUMNS.map(this.q).join(', ')} FROM ${this.table} WHERE ${this.q('app_id')} = ${this.p(1)} AND ${where}`;
  }

  async register(device: Device, maxPerUser: number): Promise<boolean> {
    const { q, p } = this;
    const existing = await this.get(device.appId, device.id);
    const values = [
      device.appId,
      device.id,
      device.provider,
      device.token,
      device.keys === undefined ? null : JSON.stringify(device.keys),
      device.sandbox === true,
      device.userId ?? null,
      ` ${device.interests.join(' ')} `,
      existing?.createdAt ?? device.createdAt,
    ];
    const updates = COLUMNS.slice(2, -1);
    const upsert =
      this.client.dialect === 'postgres'
        ? `ON CONFLICT (${q('app_id')}, ${q('id')}) DO UPDATE SET ${updates.map((c) => `${q(c)} = EXCLUDED.${q(c)}`).join(', ')}`
        : `ON DUPLICATE KEY UPDATE ${updates.map((c) => `${q(c)} = VALUES(${q(c)})`).join(', ')}`;
    await this.client.query(`INSERT INTO ${this.table} (${COLUMNS.map(q).join(', ')}) VALUES (${COLUMNS.map((_, i) => p(i + 1)).join(', ')}) ${upsert}`, values);
    if (device.userId !== undefined) {
      const rows = await this.client.query(
        `SELECT ${q('id')} FROM ${this.table} WHERE ${q('app_id')} = ${p(1)} AND ${q('user_id')} = ${p(2)} AND ${q('id')} <> ${p(3)} ORDER BY ${q('created_at')}, ${q('id')}`,
        [device.appId, device.userId, device.id],
      );
      for (const row of rows.slice(0, Math.max(0, rows.length + 1 - maxPerUser))) await this.remove(device.appId, String(row.id));
    }
    return existing === undefined;
  }

  async get(appId: string, deviceId: string): Promise<Device | undefined> {
    const rows = await this.client.query(this.select(`${this.q('id')} = ${this.p(2)}`), [appId, deviceId]);
    return rows.length === 0 ? undefined : rowToDevice(rows[0]);
  }

  async remove(appId: string, deviceId: string): Promise<boolean> {
    const { q, p } = this;
    // Neither driver reports affected rows through SqlClient: look first.
    if ((await this.get(appId, deviceId)) === undefined) return false;
    await this.client.query(`DELETE FROM ${this.table} WHERE ${q('app_id')} = ${p(1)} AND ${q('id')} = ${p(2)}`, [appId, deviceId]);
    return true;
  }

  async forUsers(appId: string, userIds: readonly string[]): Promise<Device[]> {
    if (userIds.length === 0) return [];
    const rows = await this.client.query(this.select(`${this.q('user_id')} IN (${userIds.map((_, i) => this.p(i + 2)).join(', ')})`), [appId, ...userIds]);
    return rows.map(rowToDevice);
  }

  async forInterests(appId: string, interests: readonly string[]): Promise<Device[]> {
    if (interests.length === 0) return [];
    const where = interests.map((_, i) => `${this.q('interests')} LIKE ${this.p(i + 2)}`).join(' OR ');
    const rows = await this.client.query(this.select(`(${where})`), [appId, ...interests.map(likeInterest)]);
    return rows.map(rowToDevice);
  }

  close(): Promise<void> {
    return this.client.end();
  }
}

function rowToDevice(row: Record<string, unknown>): Device {
  const device: Device = {
    id: String(row.id),
    appId: String(row.app_id),
    provider: row.provider as ProviderName,
    token: String(row.token),
    interests: String(row.interests).split(' ').filter((i) => i !== ''),
    createdAt: Number(row.created_at),
  };
  if (typeof row.web_push_keys === 'string') device.keys = JSON.parse(row.web_push_keys) as Device['keys'];
  // mysql2 gives BOOLEAN as 0/1.
  if (row.sandbox === true || row.sandbox === 1) device.sandbox = true;
  if (typeof row.user_id === 'string') device.userId = row.user_id;
  return device;
}
