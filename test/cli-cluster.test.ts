// `broadcasty stats` and `broadcasty channels` against one node of a two-node cluster on a real
// Redis: what they print covers both nodes — connections per node, channels occupied anywhere —
// and `monitor` on one node shows a publish made on the other.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningServer } from '../src/server.js';
import { cliInProcess, runCli } from './support/cli-process.js';
import { APP, rawSubscriber, triggerRaw, until } from './support/cluster.js';
import { startTestServer, type RawClient } from './support/in-process.js';
import { RedisServer } from './support/redis.js';
import { scratchDir } from './support/scratch.js';

const ADMIN = 'cli-cluster-admin-token-0123';

describe('broadcasty stats, channels and monitor on a two-node cluster', () => {
  let redis: RedisServer;
  let a: RunningServer;
  let b: RunningServer;
  /** The settings of node A, as a command next to it reads them. */
  let nodeA: string;
  const sockets: RawClient[] = [];

  before(async () => {
    redis = await RedisServer.start();
    const settings = { host: '127.0.0.1', apps: [APP], redisUrl: redis.url, redisPrefix: `cli-${Date.now()}`, adminToken: ADMIN, logLevel: 'silent' };
    [a, b] = await Promise.all([startTestServer(settings), startTestServer(settings)]);
    nodeA = join(scratchDir('cli-cluster'), 'node-a.json');
    writeFileSync(nodeA, JSON.stringify({ ...settings, port: a.port }));
  });
  after(async () => {
    for (const socket of sockets) socket.close();
    await Promise.all([a.shutdown(), b.shutdown()]);
    await redis.stop();
  });

  it('stats on node A shows both nodes and their connections', async () => {
    sockets.push(await rawSubscriber(a.port, ['news']), await rawSubscriber(b.port, ['sport']), await rawSubscriber(b.port, ['presence-room'], 'ada'));
    const stats = await until(
      async () => {
        const result = await cliInProcess(['stats', '--json', '--config', nodeA]);
        assert.equal(result.code, 0, result.stderr);
        const body = JSON.parse(result.stdout);
        return body.nodes.length === 2 && body.connections.total === 3 ? body : undefined;
      },
      20_000,
      'both nodes in the stats',
    );
    assert.deepEqual(stats.nodes.map((node: { connections: number }) => node.connections).sort(), [1, 2]);
    assert.equal(stats.connections.byTransport.ws, 3);
    const human = await cliInProcess(['stats', '--config', nodeA]);
    assert.match(human.stdout, /\nnodes +2\n {2}\S+ {2}\d connections? \(ws \d\), \d+ published\n {2}\S+ {2}\d connections? \(ws \d\), \d+ published\n$/);
  });

  it('channels on node A lists the channels occupied on either node', async () => {
    const result = await cliInProcess(['channels', '--json', '--config', nodeA]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout).channels, { news: { subscription_count: 1 }, sport: { subscription_count: 1 }, 'presence-room': { subscription_count: 1 } });
    const presence = await cliInProcess(['channels', '--prefix', 'presence-', '--config', nodeA]);
    assert.equal(presence.stdout, 'presence-room  1 subscription, 1 user\n');
  });

  it('monitor --json on node A receives a publish made on node B', async () => {
    const monitor = runCli(['monitor', '--json', '--kinds', 'publish', '--config', nodeA]);
    try {
      // The tap reaches B once B sees A's watch in Redis (~1 s): publish on B until one shows.
      const line = await until(
        async () => {
          const reply = await triggerRaw(b.port, 'sport', 'goal', { minute: 90 });
          assert.equal(reply.status, 200, reply.body);
          return monitor.stdout().split('\n').find((text) => text.includes('"goal"'));
        },
        30_000,
        'a publish on B in the monitor on A',
      );
      const activity = JSON.parse(line!);
      assert.equal(activity.channel, 'sport');
      assert.equal(typeof activity.node, 'string');
    } finally {
      monitor.child.kill('SIGTERM');
    }
    assert.equal(await monitor.exited, 0, monitor.stderr());
  });
});
