// The admin API across two nodes sharing a real Redis (docs/PROTOCOL.md §17.1, §17.2): the stats
// add up every live node's connections, and a tap on node A sees what happened on node B — and on
// A itself — exactly once, until the last tap closes and every node's feed goes quiet again; a
// node killed with -9 leaves no stats behind in Redis, though nobody asks for stats.
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { after, before, describe, it } from 'node:test';
import type { RunningServer } from '../src/server.js';
import { TapStream, adminRequest } from './support/admin.js';
import { APP, rawSubscriber, startNode, triggerRaw, until } from './support/cluster.js';
import { startTestServer, type RawClient } from './support/in-process.js';
import { RedisServer } from './support/redis.js';

const ADMIN = 'admin-token-0123456789';
const quiet = (server: RunningServer) => Object.values(server.ctx.activity.wants).every((wanted) => !wanted);

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
