// The PostgreSQL and MariaDB/MySQL app registries against the real databases on this machine:
// caching, row changes within the TTL, and Broadcasty as a real process reading its apps from
// the table (WebSocket refusals, HTTP API signatures against the row's secret).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Writable } from 'node:stream';
import PusherServer from 'pusher';
import { pino } from 'pino';
import type { Logger } from '../src/logger.js';
import { migrate } from '../src/migrate.js';
import { connectSql } from '../src/apps/sql-clients.js';
import { SqlAppRegistry } from '../src/apps/sql-registry.js';
import { DIALECTS, type Dialect, type SqlClient } from '../src/apps/sql-table.js';
import { loadConfig } from '../src/config/load.js';
import { freePort, runCli, untilListening } from './support/cli-process.js';
import { RawClient } from './support/in-process.js';

const DATABASES: { dialect: Dialect; url: string; start: string }[] = [
  {
    dialect: 'postgres',
    url: process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    start: 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
  },
  {
    dialect: 'mysql',
    url: process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test',
    start: 'start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd',
  },
];

const TTL_MS = 300;
/** A change must show within the TTL plus one background query; this bounds the query. */
const SLACK_MS = 1500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` passes; returns how long it took. */
async function within<T>(ms: number, what: string, check: () => Promise<T | undefined>): Promise<number> {
  const started = Date.now();
  for (;;) {
    if ((await check()) !== undefined) return Date.now() - started;
    if (Date.now() - started > ms) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(25);
  }
}

function capturingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
  return { log: pino({ level: 'info' }, stream), lines };
}

interface AppRow {
  id: string;
  key: string;
  secret: string;
  enabled?: boolean;
  settings?: Record<string, unknown>;
}

for (const db of DATABASES) {
  describe(`${db.dialect} app registry`, () => {
    const { quote, placeholder } = DIALECTS[db.dialect];
    let admin: SqlClient;
    const tables: string[] = [];

    before(async () => {
      admin = (await connectSql(db.dialect, db.url));
      try {
        await admin.query('SELECT 1', []);
      } catch (error) {
        throw new Error(`${db.dialect} is not reachable at ${db.url} (${(error as Error).message}); start it with: ${db.start}`);
      }
    });
    after(async () => {
      for (const table of tables) await admin.query(`DROP TABLE IF EXISTS ${table}`, []);
      await admin.end();
    });

    const registryEnv = (table: string) => ({ BROADCASTY_APP_REGISTRY: db.dialect, BROADCASTY_DATABASE_URL: db.url, BROADCASTY_APPS_TABLE: table });

    /** Each test gets its own table, made by `migrate` (run twice: it must be safe to rerun). */
    async function freshTable(): Promise<string> {
      const table = `broadcasty_apps_t${process.pid}_${tables.length}_${Math.random().toString(36).slice(2, 8)}`;
      tables.push(table);
      const config = loadConfig({ env: registryEnv(table) });
      assert.match(await migrate(config), new RegExp(`apps table ${table} is ready`));
      await migrate(config);
      return table;
    }

    async function insert(table: string, row: AppRow): Promise<void> {
      const columns = ['id', 'key', 'secret', 'enabled', 'settings'];
      const values = [row.id, row.key, row.secret, row.enabled ?? true, JSON.stringify(row.settings ?? {})];
      await admin.query(`INSERT INTO ${table} (${columns.map(quote).join(', ')}) VALUES (${columns.map((_, i) => placeholder(i + 1)).join(', ')})`, values);
    }

    async function update(table: string, id: string, column: string, value: unknown): Promise<void> {
      await admin.query(`UPDATE ${table} SET ${quote(column)} = ${placeholder(1)} WHERE ${quote('id')} = ${placeholder(2)}`, [value, id]);
    }

    it('maps a row (columns and settings JSON) through appSchema and shows a changed row within the TTL', async () => {
      const table = await freshTable();
      await insert(table, { id: 'id-1', key: 'key-1', secret: 's1', settings: { maxPresenceMembers: 7, webhooks: [{ url: 'http://127.0.0.1:9/hook' }], history: [{ channels: ['orders.*'], maxEvents: 50 }] } });
      const client = (await connectSql(db.dialect, db.url));
      const registry = new SqlAppRegistry(client, { table, cacheTtlMs: TTL_MS, log: capturingLogger().log });
      try {
        const app = await registry.findByKey('key-1');
        assert.deepEqual([app?.id, app?.secret, app?.enabled, app?.clientEvents, app?.maxConnections, app?.maxPresenceMembers], ['id-1', 's1', true, true, null, 7]);
        assert.deepEqual(app?.webhooks, [{ url: 'http://127.0.0.1:9/hook' }]);
        assert.deepEqual(app?.history, [{ channels: ['orders.*'], maxEvents: 50, maxAgeSeconds: 3600, maxBytes: 1024 * 1024, partitions: 1 }]);
        assert.equal((await registry.findById('id-1'))?.key, 'key-1');
        assert.equal(await registry.findByKey('KEY-1'), undefined, 'keys compare case-sensitively');

        await update(table, 'id-1', 'secret', 's2');
        await update(table, 'id-1', 'max_connections', 3);
        const changedAt = Date.now();
        assert.equal((await registry.findByKey('key-1'))?.secret, 's1', 'served from the cache until the TTL lapses');
        await within(TTL_MS + SLACK_MS, 'new secret by key', async () => ((await registry.findByKey('key-1'))?.secret === 's2' ? true : undefined));
        await within(TTL_MS + SLACK_MS, 'new secret by id', async () => ((await registry.findById('id-1'))?.secret === 's2' ? true : undefined));
        assert.ok(Date.now() - changedAt < TTL_MS + SLACK_MS);
        assert.equal((await registry.findByKey('key-1'))?.maxConnections, 3);

        // An unknown key is cached briefly, then asked again (a new app must not stay refused).
        assert.equal(await registry.findByKey('key-2'), undefined);
        await insert(table, { id: 'id-2', key: 'key-2', secret: 'x' });
        assert.equal(await registry.findByKey('key-2'), undefined, 'negative answer cached');
        await within(TTL_MS + SLACK_MS, 'new app found', () => registry.findByKey('key-2'));
      } finally {
        await registry.close();
      }
    });

    it('keeps serving cached apps without waiting when the database goes away', async () => {
      const table = await freshTable();
      await insert(table, { id: 'id-1', key: 'key-1', secret: 's1' });
      const client = (await connectSql(db.dialect, db.url));
      const { log, lines } = capturingLogger();
      const registry = new SqlAppRegistry(client, { table, cacheTtlMs: 50, log });
      assert.equal((await registry.findByKey('key-1'))?.secret, 's1');
      await client.end(); // every later query fails at once
      await sleep(100);
      for (let i = 0; i < 3; i++) {
        const started = Date.now();
        assert.equal((await registry.findByKey('key-1'))?.secret, 's1');
        assert.ok(Date.now() - started < 20, 'a cached lookup must not wait on the database');
      }
      await within(1000, 'refresh failure logged', async () => (lines.some((l) => l.includes('refresh failed')) ? true : undefined));
      await assert.rejects(registry.findByKey('never-seen'), 'a first lookup has nothing to serve instead');
    });

    it('refuses an invalid row with a message naming the table, row, column or setting, and value', async () => {
      const table = await freshTable();
      await insert(table, { id: 'bad-1', key: 'bad-key-1', secret: 's', settings: { webhooks: [{ url: 'not a url' }] } });
      await insert(table, { id: 'bad-2', key: 'bad-key-2', secret: 's', settings: { secret: 'twice' } });
      await insert(table, { id: 'bad-3', key: 'bad-key-3', secret: 's' });
      await insert(table, { id: 'bad-4', key: 'bad-key-4', secret: 's', settings: { history: [{ channels: ['orders'], partitions: 65 }] } });
      await update(table, 'bad-3', 'max_connections', -1);
      const registry = new SqlAppRegistry((await connectSql(db.dialect, db.url)), { table, cacheTtlMs: TTL_MS, log: capturingLogger().log });
      try {
        await assert.rejects(registry.findByKey('bad-key-1'), new RegExp(`table ${table}, row id "bad-1": settings\\.webhooks\\[0\\]\\.url: got "not a url"`));
        await assert.rejects(registry.findByKey('bad-key-2'), /settings\.secret: set it in the column secret instead/);
        await assert.rejects(registry.findByKey('bad-key-3'), /row id "bad-3": max_connections: got -1; Number must be greater than 0/);
        await assert.rejects(registry.findByKey('bad-key-4'), /row id "bad-4": settings\.history\[0\]\.partitions: got 65; Number must be less than or equal to 64/);
      } finally {
        await registry.close();
      }
    });

    it('runs in Broadcasty: disabled row → 4003, unknown key → 4001, HTTP API signed with the row secret, changes within the TTL', async () => {
      const table = await freshTable();
      await insert(table, { id: 'on-id', key: 'on-key', secret: 'on-secret' });
      await insert(table, { id: 'off-id', key: 'off-key', secret: 'off-secret', enabled: false });
      const port = await freePort();
      const migrated = runCli(['migrate'], registryEnv(table));
      assert.equal(await migrated.exited, 0, migrated.stderr());
      assert.match(migrated.stdout(), /is ready/);
      const cli = runCli(['start', '--host', '127.0.0.1', '--port', String(port)], { ...registryEnv(table), BROADCASTY_APPS_CACHE_TTL_MS: String(TTL_MS) });
      const sdk = (appId: string, key: string, secret: string) => new PusherServer({ appId, key, secret, host: '127.0.0.1', port: String(port), useTLS: false });
      const status = (appId: string, key: string, secret: string) =>
        sdk(appId, key, secret)
          .trigger('orders', 'created', { n: 1 })
          .then((r) => r.status, (e: PusherServer.RequestError) => e.status);
      /** [pusher:error code, close code], or undefined when the socket was accepted. */
      const refusal = async (key: string) => {
        const client = await RawClient.connect(port, key);
        const first = await client.next((f) => f.event === 'pusher:error' || f.event === 'pusher:connection_established');
        if (first.event !== 'pusher:error') return client.close();
        return [(first.data as { code: number }).code, (await client.closed).code];
      };
      try {
        await untilListening(cli);
        assert.deepEqual(await refusal('off-key'), [4003, 4003]);
        assert.deepEqual(await refusal('no-such-key'), [4001, 4001]);
        const on = await RawClient.connect(port, 'on-key');
        await on.established();
        on.send({ event: 'pusher:subscribe', data: { channel: 'orders' } });
        await on.next((f) => f.event === 'pusher_internal:subscription_succeeded');

        assert.equal(await status('on-id', 'on-key', 'on-secret'), 200);
        const delivered = await on.next((f) => f.event === 'created');
        assert.equal(delivered.channel, 'orders');
        assert.equal(await status('on-id', 'on-key', 'wrong-secret'), 401);
        assert.equal(await status('off-id', 'off-key', 'off-secret'), 403);

        await update(table, 'on-id', 'secret', 'rotated');
        await within(TTL_MS + SLACK_MS, 'rotated secret accepted', async () => ((await status('on-id', 'on-key', 'rotated')) === 200 ? true : undefined));
        assert.equal(await status('on-id', 'on-key', 'on-secret'), 401);

        await update(table, 'on-id', 'enabled', false);
        await within(TTL_MS + SLACK_MS, 'disabled app refused', async () => ((await refusal('on-key'))?.[0] === 4003 ? true : undefined));
        on.close();
      } finally {
        cli.child.kill('SIGTERM');
        await cli.exited;
      }
    });
  });
}
