// The device stores (docs/PROTOCOL.md §16.2) with the same cases against each: memory, a spawned
// redis-server, and the machine's PostgreSQL and MariaDB with the table `broadcasty migrate` makes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { migrate } from '../src/migrate.js';
import { connectSql } from '../src/apps/sql-clients.js';
import type { Dialect } from '../src/apps/sql-table.js';
import { loadConfig } from '../src/config/load.js';
import { MemoryDeviceStore } from '../src/push/devices/memory.js';
import { RedisDeviceStore } from '../src/push/devices/redis.js';
import { SqlDeviceStore } from '../src/push/devices/sql.js';
import { deviceId } from '../src/api/push-registration.js';
import type { Device, DeviceStore, ProviderName } from '../src/push/types.js';
import { RedisServer } from './support/redis.js';

const DATABASES: Record<Dialect, string> = {
  postgres: process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  mysql: process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test',
};

let clock = 1_700_000_000_000;
function device(token: string, settings: Partial<Device> = {}, provider: ProviderName = 'fcm'): Device {
  return { id: deviceId(provider, token), appId: 'app-1', provider, token, interests: [], createdAt: clock++, ...settings };
}

const ids = (devices: Device[]) => devices.map((d) => d.id).sort();

interface StoreCase {
  name: string;
  open(): Promise<DeviceStore>;
  close?(): Promise<void>;
}

let redis: RedisServer | undefined;
const tables: { dialect: Dialect; table: string }[] = [];

const CASES: StoreCase[] = [
  { name: 'memory', open: async () => new MemoryDeviceStore() },
  {
    name: 'redis',
    async open() {
      redis ??= await RedisServer.start();
      return new RedisDeviceStore({ url: redis.url, prefix: `t${Math.random().toString(36).slice(2, 8)}`, log: pino({ level: 'silent' }) });
    },
  },
  ...(['postgres', 'mysql'] as const).map((dialect) => ({
    name: dialect,
    async open() {
      const table = `broadcasty_push_devices_t${process.pid}_${tables.length}`;
      tables.push({ dialect, table });
      const config = loadConfig({ env: { BROADCASTY_PUSH_DEVICES: dialect, BROADCASTY_DATABASE_URL: DATABASES[dialect], BROADCASTY_PUSH_DEVICES_TABLE: table } });
      assert.match(await migrate(config), new RegExp(`push devices table ${table} is ready`));
      await migrate(config);
      return new SqlDeviceStore(await connectSql(dialect, DATABASES[dialect]), table);
    },
  })),
];

after(async () => {
  for (const { dialect, table } of tables) {
    const admin = await connectSql(dialect, DATABASES[dialect]);
    await admin.query(`DROP TABLE IF EXISTS ${table}`, []);
    await admin.end();
  }
  await redis?.stop();
});

for (const store of CASES) {
  describe(`${store.name} device store`, () => {
    let devices: DeviceStore;
    before(async () => {
      devices = await store.open();
    });
    after(() => devices.close());

    it('registers, updates in place keeping the first registration time, and removes', async () => {
      const web = device('https://push.example/ep/1', { userId: 'u1', interests: ['news', 'a_b'], keys: { p256dh: 'p'.repeat(87), auth: 'a'.repeat(22) } }, 'webpush');
      assert.equal(await devices.register(web, 20), true);
      assert.deepEqual(await devices.get('app-1', web.id), web);
      const moved = { ...web, userId: 'u2', interests: ['sports'], createdAt: clock++ };
      assert.equal(await devices.register(moved, 20), false);
      assert.deepEqual(await devices.get('app-1', web.id), { ...moved, createdAt: web.createdAt });
      assert.deepEqual(await devices.forUsers('app-1', ['u1']), []);
      assert.deepEqual(ids(await devices.forUsers('app-1', ['u2'])), [web.id]);
      assert.deepEqual(await devices.forInterests('app-1', ['news']), []);
      assert.equal(await devices.remove('app-1', web.id), true);
      assert.equal(await devices.remove('app-1', web.id), false);
      assert.equal(await devices.get('app-1', web.id), undefined);
      assert.deepEqual(await devices.forInterests('app-1', ['sports']), []);
    });

    it('finds devices by users and interests, each once, within the app only', async () => {
      const a = device('tok-a', { userId: 'alice', interests: ['news', 'x_y'] });
      const b = device('b'.repeat(64), { userId: 'bob', interests: ['news'], sandbox: true }, 'apns');
      const c = device('tok-c', { interests: ['xzy'] });
      const other = device('tok-a', { appId: 'app-2', userId: 'alice', interests: ['news'] });
      for (const d of [a, b, c, other]) await devices.register(d, 20);
      assert.deepEqual(ids(await devices.forUsers('app-1', ['alice', 'bob', 'nobody'])), ids([a, b]));
      assert.deepEqual(ids(await devices.forInterests('app-1', ['news', 'x_y'])), ids([a, b]));
      // `_` is a literal character of an interest, not a wildcard.
      assert.deepEqual(ids(await devices.forInterests('app-1', ['x_y'])), [a.id]);
      assert.deepEqual(await devices.get('app-1', b.id), b);
      assert.deepEqual(ids(await devices.forUsers('app-2', ['alice'])), [other.id]);
      assert.deepEqual(await devices.forUsers('app-1', []), []);
      for (const d of [a, b, c]) await devices.remove('app-1', d.id);
      await devices.remove('app-2', other.id);
    });

    it('keeps at most maxPerUser devices per user, dropping the oldest', async () => {
      const own = [1, 2, 3].map((n) => device(`carol-${n}`, { userId: 'carol', interests: ['news'] }));
      for (const d of own) await devices.register(d, 3);
      // Re-registering one does not count as one more.
      assert.equal(await devices.register(own[0]!, 3), false);
      assert.deepEqual(ids(await devices.forUsers('app-1', ['carol'])), ids(own));
      const fourth = device('carol-4', { userId: 'carol' });
      assert.equal(await devices.register(fourth, 3), true);
      assert.deepEqual(ids(await devices.forUsers('app-1', ['carol'])), ids([own[1]!, own[2]!, fourth]));
      assert.equal(await devices.get('app-1', own[0]!.id), undefined);
      assert.deepEqual(ids(await devices.forInterests('app-1', ['news'])), ids([own[1]!, own[2]!]));
    });
  });
}
