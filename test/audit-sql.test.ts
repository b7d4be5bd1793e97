// The audit log's SQL sink on the machine's PostgreSQL and MariaDB (docs/PROTOCOL.md §17.4):
// `broadcasty migrate` creates the table, a server's entries arrive as rows, retention deletes
// rows older than retentionDays, and a database out of reach never breaks publishing.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { connectSql } from '../src/apps/sql-clients.js';
import { DIALECTS, type Dialect, type SqlClient } from '../src/apps/sql-table.js';
import { SqlAuditSink } from '../src/audit/sql-sink.js';
import { AuditWriter, BATCH, MAX_BUFFERED } from '../src/audit/writer.js';
import { loadConfig } from '../src/config/load.js';
import type { Logger } from '../src/logger.js';
import { migrate } from '../src/migrate.js';
import { startServer } from '../src/server.js';
import { APP, rawSubscriber, sdk, until } from './support/cluster.js';
import { RawClient } from './support/in-process.js';

const DATABASES: { dialect: Dialect; url: string; down: string; start: string }[] = [
  {
    dialect: 'postgres',
    url: process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    down: 'postgres://postgres@127.0.0.1:1/test',
    start: 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
  },
  {
    dialect: 'mysql',
    url: process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test',
    down: 'mysql://root@127.0.0.1:1/test',
    start: 'start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd',
  },
];
const DAY_MS = 24 * 60 * 60 * 1000;
const WAIT_MS = 15_000;

function capturingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
  return { log: pino({ level: 'warn' }, stream), lines };
}

const serverConfig = (dialect: Dialect, databaseUrl: string, table: string) =>
  loadConfig({ env: {}, overrides: { host: '127.0.0.1', port: 0, logLevel: 'silent', apps: [{ ...APP }], databaseUrl, audit: { sink: dialect, table, flushMs: 50 } } });

for (const db of DATABASES) {
  describe(`${db.dialect} audit sink`, () => {
    const { quote, placeholder } = DIALECTS[db.dialect];
    const table = `broadcasty_audit_t${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    let admin: SqlClient;

    before(async () => {
      admin = await connectSql(db.dialect, db.url);
      try {
        await admin.query('SELECT 1', []);
      } catch (error) {
        throw new Error(`${db.dialect} is not reachable at ${db.url} (${(error as Error).message}); start it with: ${db.start}`);
      }
    });
    after(async () => {
      await admin.query(`DROP TABLE IF EXISTS ${table}`, []);
      await admin.end();
    });

    const rows = (where: string, params: unknown[] = []) => admin.query(`SELECT * FROM ${table} WHERE ${where} ORDER BY ${quote('id')}`, params);

    it('`broadcasty migrate` creates the table (safe to rerun); a server writes its entries as rows', async () => {
      const env = { BROADCASTY_AUDIT: db.dialect, BROADCASTY_DATABASE_URL: db.url, BROADCASTY_AUDIT_TABLE: table };
      assert.match(await migrate(loadConfig({ env })), new RegExp(`audit table ${table} is ready \\(${db.dialect}\\)`));
      await migrate(loadConfig({ env }));

      const server = await startServer(serverConfig(db.dialect, db.url, table));
      try {
        await sdk(server.port).trigger('orders', 'order.placed', { id: 1 });
        const member = await rawSubscriber(server.port, ['presence-room'], 'user-9');
        member.close();
        const found = await until(async () => {
          const list = await rows(`${quote('kind')} IN (${placeholder(1)}, ${placeholder(2)}, ${placeholder(3)})`, ['publish', 'member_added', 'member_removed']);
          return list.length === 3 ? list : undefined;
        }, WAIT_MS, 'three rows');
        const [published, added, removed] = found!;
        assert.deepEqual(
          [published!.app_id, published!.kind, published!.actor, published!.channel, published!.event, Number(published!.bytes)],
          [APP.id, 'publish', 'app', 'orders', 'order.placed', 8],
        );
        const detail = (row: Record<string, unknown>) => (typeof row.detail === 'string' ? JSON.parse(row.detail) : row.detail) as Record<string, unknown>;
        assert.deepEqual(detail(published!), { source: 'http' });
        assert.deepEqual([added!.kind, added!.channel, detail(added!)], ['member_added', 'presence-room', { userId: 'user-9' }]);
        assert.deepEqual([removed!.kind, detail(removed!)], ['member_removed', { userId: 'user-9' }]);
        assert.ok(Math.abs(new Date(published!.at as string).getTime() - Date.now()) < 60 * 60 * 1000, `at is UTC: ${String(published!.at)}`);
      } finally {
        await server.shutdown();
      }
    });

    it('a NUL in client text (a refused subscribe quoting its auth) is written replaced, and the log goes on', async () => {
      const server = await startServer(serverConfig(db.dialect, db.url, table));
      try {
        const client = await RawClient.connect(server.port, APP.key);
        await client.established();
        client.send({ event: 'pusher:subscribe', data: { channel: 'private-nul', auth: 'a\u0000b:c' } });
        await client.next((f) => f.event === 'pusher:error' || f.event === 'pusher:subscription_error');
        client.close();
        await sdk(server.port).trigger('orders', 'after-nul', { id: 3 });
        const [refused] = (await until(async () => {
          const list = await rows(`${quote('channel')} = ${placeholder(1)}`, ['private-nul']);
          return list.length === 1 ? list : undefined;
        }, WAIT_MS, 'the refusal row'))!;
        const detail = (typeof refused!.detail === 'string' ? JSON.parse(refused!.detail) : refused!.detail) as { reason: string };
        assert.equal(detail.reason, "Invalid key in subscription auth data: 'a\uFFFDb'");
        await until(async () => (await rows(`${quote('event')} = ${placeholder(1)}`, ['after-nul'])).length === 1, WAIT_MS, 'the next entry written too');
      } finally {
        await server.shutdown();
      }
    });

    it('a row the database refuses for its data is dropped and counted; the rest of its batch is written', async () => {
      const { log, lines } = capturingLogger();
      const writer = new AuditWriter(new SqlAuditSink(await connectSql(db.dialect, db.url), table, 30, log), { flushMs: 50, payloads: false }, log);
      const entry = (event: string, bytes: number) => ({ kind: 'publish' as const, at: Date.now(), appId: APP.id, channel: 'split', event, bytes, data: '{}', source: 'http' as const, actor: 'app' });
      for (let n = 0; n < 5; n++) writer.accept(entry(`good-${n}`, 1));
      writer.accept(entry('too-big', 2 ** 40));
      for (let n = 5; n < 10; n++) writer.accept(entry(`good-${n}`, 1));
      await writer.stop();
      const written = await rows(`${quote('channel')} = ${placeholder(1)}`, ['split']);
      assert.deepEqual(
        written.map((row) => row.event),
        Array.from({ length: 10 }, (_, n) => `good-${n}`),
      );
      const dropped = lines.map((l) => JSON.parse(l) as { msg: string; dropped?: number }).filter((l) => l.dropped !== undefined);
      assert.deepEqual(dropped.map((l) => l.dropped), [1]);
      assert.ok(!lines.some((l) => l.includes('too-big') || l.includes('audit sink failing')), lines.join(''));
    });

    it('retention deletes rows older than retentionDays and keeps the rest', async () => {
      const insert = (at: Date, event: string) => {
        const iso = at.toISOString();
        const value = db.dialect === 'mysql' ? iso.replace('T', ' ').replace('Z', '') : iso;
        return admin.query(`INSERT INTO ${table} (${['at', 'kind', 'event', 'detail'].map(quote).join(', ')}) VALUES (${[1, 2, 3, 4].map(placeholder).join(', ')})`, [value, 'admin', event, '{}']);
      };
      await insert(new Date(Date.now() - 40 * DAY_MS), 'old');
      await insert(new Date(Date.now() - 29 * DAY_MS), 'recent');
      const log = capturingLogger().log;
      // Every node prunes on start and hourly: two at once delete the same rows.
      const writers = [0, 1].map(async () => new AuditWriter(new SqlAuditSink(await connectSql(db.dialect, db.url), table, 30, log), { flushMs: 50, payloads: false }, log));
      try {
        await until(async () => (await rows(`${quote('event')} = ${placeholder(1)}`, ['old'])).length === 0, WAIT_MS, 'old row deleted');
        assert.equal((await rows(`${quote('event')} = ${placeholder(1)}`, ['recent'])).length, 1);
      } finally {
        for (const writer of writers) await (await writer).stop();
      }
    });

    it('a database out of reach never breaks publishing; entries wait, bounded', async () => {
      const { log, lines } = capturingLogger();
      const server = await startServer(serverConfig(db.dialect, db.down, table), { log });
      try {
        const subscriber = await rawSubscriber(server.port, ['orders']);
        await sdk(server.port).trigger('orders', 'order.placed', { id: 2 });
        await subscriber.next((f) => f.event === 'order.placed', WAIT_MS);
        subscriber.close();
        await until(() => lines.some((l) => l.includes('audit sink failing')), WAIT_MS, 'the sink failure logged');
      } finally {
        await server.shutdown();
      }
      assert.ok(lines.some((l) => l.includes('audit entries not written at shutdown')), 'what was lost is logged');

      const writer = new AuditWriter(new SqlAuditSink(await connectSql(db.dialect, db.down), table, 30, log), { flushMs: 50, payloads: false }, log);
      for (let n = 0; n < MAX_BUFFERED + 2 * BATCH; n++) {
        writer.accept({ kind: 'admin', at: Date.now(), action: 'publish', actor: 'admin' });
      }
      assert.ok(lines.some((l) => l.includes('audit buffer full')), 'dropping the oldest is logged');
      await writer.stop();
      const lost = lines.map((l) => JSON.parse(l) as { msg: string; lost?: number }).find((l) => l.msg.startsWith('audit entries not written') && l.lost !== undefined && l.lost > 2);
      assert.ok(lost !== undefined && lost.lost! <= MAX_BUFFERED, `at most ${MAX_BUFFERED} kept: ${JSON.stringify(lost)}`);
    });
  });
}
