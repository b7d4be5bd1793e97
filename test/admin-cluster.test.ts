// The admin API across two nodes sharing a real Redis (docs/PROTOCOL.md §17.1, §17.2): the stats
// add up every live node's connections, and a tap on node A sees what happened on node B — and on
// A itself — exactly once, until the last tap closes and every node's feed goes quiet again; only
// the kinds a tap asked for are relayed, and only by the other nodes; a tap whose channel SUBSCRIBE
// failed (the connection was reconnecting) hears the other nodes once Redis takes it again; a
// node killed with -9 leaves no stats behind in Redis, though nobody asks for stats.
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { after, before, describe, it } from 'node:test';
import { RedisKeys } from '../src/engine/redis-keys.js';
import type { RunningServer } from '../src/server.js';
import { TapStream, adminRequest } from './support/admin.js';
import { APP, rawSubscriber, startNode, triggerRaw, until } from './support/cluster.js';
import { startTestServer, type RawClient } from './support/in-process.js';
import { RedisServer } from './support/redis.js';

const ADMIN = 'admin-token-0123456789';
const quiet = (server: RunningServer) => Object.values(server.ctx.activity.wants).every((wanted) => !wanted);
/** The activity kinds a node's emitters build, joined. */
const wanted = (server: RunningServer) => Object.entries(server.ctx.activity.wants).filter(([, on]) => on).map(([kind]) => kind).join(',');

describe('admin API in a cluster', () => {
  let redis: RedisServer;
  let a: RunningServer;
  let b: RunningServer;
  let config: Record<string, unknown>;
  const sockets: RawClient[] = [];

  before(async () => {
    redis = await RedisServer.start();
    config = { apps: [APP], redisUrl: redis.url, redisPrefix: `admin-${Date.now()}`, adminToken: ADMIN };
    [a, b] = await Promise.all([startTestServer(config), startTestServer(config)]);
  });
  after(async () => {
    for (const socket of sockets) socket.close();
    await Promise.all([a.shutdown(), b.shutdown()]);
    await redis.stop();
  });

  it('stats on node A count the connections of node B, per node', async () => {
    const onA = await rawSubscriber(a.port, ['news']);
    const onB = await rawSubscriber(b.port, ['sport']);
    sockets.push(onA, onB);
    const stats = await until(
      async () => {
        const body = (await adminRequest(a.port, '/admin/apps/app-id/stats', { token: ADMIN })).body;
        return body.nodes.length === 2 && body.connections.total === 2 ? body : undefined;
      },
      15_000,
      'both nodes in the stats',
    );
    assert.deepEqual(stats.connections.byTransport, { ws: 2, sse: 0, poll: 0, xhr_streaming: 0, xhr_polling: 0 });
    assert.deepEqual(stats.nodes.map((n: { connections: number }) => n.connections), [1, 1]);
    assert.notEqual(stats.nodes[0].node, stats.nodes[1].node);
    assert.equal(stats.channels, 2);
    onA.close();
    onB.close();
  });

  it('a tap on node A sees a subscribe and a publish on node B, and a publish on A, exactly once each', async () => {
    const tap = await TapStream.open(a.port, APP.id, 'kinds=publish,subscribe', ADMIN);
    try {
      await until(() => b.ctx.activity.wants.publish, 15_000, 'node B relaying the watched app');
      const onB = await rawSubscriber(b.port, ['orders']);
      sockets.push(onB);
      await triggerRaw(b.port, 'orders', 'placed-on-b', { n: 1 });
      await triggerRaw(a.port, 'orders', 'placed-on-a', { n: 2 });
      await triggerRaw(b.port, 'orders', 'marker', {});
      await tap.next((e) => e.data.event === 'marker');
      const local = await tap.next((e) => e.data.event === 'placed-on-a');
      const remote = await tap.next((e) => e.data.event === 'placed-on-b');
      assert.notEqual(remote.data.node, local.data.node);
      assert.equal(tap.matching((e) => e.data.event === 'placed-on-b').length, 1);
      assert.equal(tap.matching((e) => e.data.event === 'placed-on-a').length, 1);
      const subscribes = tap.matching((e) => e.event === 'subscribe' && e.data.channel === 'orders');
      assert.equal(subscribes.length, 1);
      assert.equal(subscribes[0].data.node, remote.data.node);
      onB.close();
    } finally {
      tap.close();
    }
  });

  it('a tap of publishes on node A: only node B relays, only publishes, and A puts nothing on the channel', async () => {
    const channel = new RedisKeys(config.redisPrefix as string).app(APP.id, 'tap');
    const listener = new Redis(redis.url);
    const relayedBy: string[] = [];
    listener.on('message', (_channel: string, message: string) => relayedBy.push((JSON.parse(message) as { node: string; event?: string }).node));
    await listener.subscribe(channel);
    const tap = await TapStream.open(a.port, APP.id, 'kinds=publish', ADMIN);
    try {
      // The mark asks for every kind until A's next tick tells which ones its tap wants.
      await until(() => wanted(a) === 'publish' && wanted(b) === 'publish', 15_000, 'both nodes building publishes only');
      await triggerRaw(a.port, 'orders', 'kept-on-a', {});
      await triggerRaw(b.port, 'orders', 'relayed-from-b', {});
      const local = await tap.next((e) => e.data.event === 'kept-on-a');
      const remote = await tap.next((e) => e.data.event === 'relayed-from-b');
      await until(() => relayedBy.length > 0, 15_000, 'the relayed publish on the channel');
      assert.deepEqual(relayedBy, [remote.data.node]);
      assert.notEqual(local.data.node, remote.data.node);
    } finally {
      tap.close();
      listener.disconnect();
    }
  });

  it('a tap whose SUBSCRIBE failed while reconnecting hears node B once Redis takes the connection again', async () => {
    const inspector = new Redis(redis.url);
    const channel = new RedisKeys(config.redisPrefix as string).app(APP.id, 'tap');
    const rejected = async () => Number(/rejected_connections:(\d+)/.exec(await inspector.info('stats'))![1]);
    let tap: TapStream | undefined;
    try {
      // Node A's tap connection exists (an earlier tap opened it) and listens to no channel.
      await until(async () => ((await inspector.pubsub('NUMSUB', channel)) as [string, number])[1] === 0, 15_000, 'no tap channel subscribed');
      const clients = (await inspector.client('LIST')) as string;
      const tapConnection = /id=(\d+) .*name=broadcasty:admin-tap:/.exec(clients);
      assert.ok(tapConnection, `a tap connection in ${clients}`);
      // Redis refuses new connections from here on: node A's tap connection, dropped, stays reconnecting.
      const before = await rejected();
      await inspector.config('SET', 'maxclients', String(clients.trim().split('\n').length - 2));
      await inspector.client('KILL', 'ID', tapConnection[1]);
      await until(async () => (await rejected()) > before, 15_000, 'node A retrying its tap connection');
      tap = await TapStream.open(a.port, APP.id, 'kinds=publish', ADMIN);
      await inspector.config('SET', 'maxclients', '10000');
      let sent = 0;
      await until(
        async () => {
          await triggerRaw(b.port, 'orders', `after-outage-${sent++}`, {});
          return tap!.matching((e) => String(e.data.event).startsWith('after-outage')).length > 0;
        },
        20_000,
        'a publish on node B in the tap on node A',
      );
    } finally {
      tap?.close();
      await inspector.config('SET', 'maxclients', '10000');
      inspector.disconnect();
    }
  });

  it('once the last tap closed, no node keeps a sink', async () => {
    await until(() => quiet(a) && quiet(b), 20_000, 'both feeds quiet');
  });

  it('a node killed with -9 is gone from Redis within seconds, with no stats read meanwhile', async () => {
    const inspector = new Redis(redis.url);
    /** Every key name, hash field and sorted-set member in Redis, as one text. */
    const everything = async () => {
      const parts: string[] = [];
      for (const key of await inspector.keys('*')) {
        const type = await inspector.type(key);
        parts.push(key, ...(type === 'hash' ? await inspector.hkeys(key) : type === 'zset' ? await inspector.zrange(key, 0, -1) : []));
      }
      return parts.join('\n');
    };
    const crashing = await startNode({ ...config, logLevel: 'silent' });
    try {
      const id: string = (await adminRequest(crashing.port, '/admin/apps/app-id/stats', { token: ADMIN })).body.nodes[0].node;
      await until(async () => (await everything()).includes(id), 15_000, 'the node writing its stats');
      await crashing.kill();
      await until(async () => !(await everything()).includes(id), 20_000, 'no trace of the killed node');
    } finally {
      await crashing.kill();
      inspector.disconnect();
    }
  });
});
