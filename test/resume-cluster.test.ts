// Gap-free resume across a 2-node Redis cluster, docs/PROTOCOL.md §13.3: the same 2,000-event
// stream and 100 cuts per app as test/resume-stream.test.ts, but every reconnect lands on the
// other node (the relay in front alternates) and the publishes alternate nodes too.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningServer } from '../src/server.js';
import { sdk } from './support/cluster.js';
import { startTestServer } from './support/in-process.js';
import { RedisServer } from './support/redis.js';
import { closeApps, cutRepeatedly, historyApp, publishTicks, settle, streamApp, streamFaults, type StreamApp } from './support/resume-stream.js';

const COUNT = 2000;

let redis: RedisServer;
let nodes: RunningServer[];
before(async () => {
  redis = await RedisServer.start();
  const prefix = `resume-${Date.now()}`;
  nodes = await Promise.all([0, 1].map(() => startTestServer({ apps: [historyApp()], redisUrl: redis.url, redisPrefix: prefix })));
});
after(async () => {
  await Promise.all(nodes.map((n) => n.shutdown()));
  await redis.stop();
});

describe('resume through 100 cuts, reconnecting to the other node of a Redis cluster', () => {
  it('pusher-js and Echo private/presence with the plugin get all 2,000 events in order, once', async () => {
    const stream = `stream.${Date.now()}`;
    const ports = nodes.map((n) => n.port);
    const apps: StreamApp[] = [];
    for (const kind of ['pusher-js', 'echo-private', 'echo-presence'] as const) apps.push(await streamApp(kind, stream, ports));
    try {
      const [, cuts] = await Promise.all([
        publishTicks(ports.map((p) => sdk(p)), [stream, `private-${stream}`, `presence-${stream}`], COUNT, 200),
        Promise.all(apps.map((app) => cutRepeatedly(app, nodes, 100, 12))),
      ]);
      await settle(apps, COUNT, 10_000);
      for (const [i, app] of apps.entries()) {
        assert.deepEqual(cuts[i], { byServer: 92, abrupt: 8 }, `${app.label}: cuts`);
        assert.ok(app.relay.connections >= 101, `${app.label}: reconnected through the relay, to the other node each time`);
        assert.deepEqual(streamFaults(app.ticks, COUNT), { received: COUNT, missing: [], repeated: [], outOfOrderAt: [] }, app.label);
        assert.deepEqual(app.failures, [], `${app.label}: every resume succeeded`);
      }
    } finally {
      await closeApps(apps);
    }
  });
});
