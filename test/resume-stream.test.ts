// Gap-free resume on one node (LocalEngine), docs/PROTOCOL.md §13.3: a 2,000-event stream at
// ~200 events/s while each app's socket is cut 100 times (92 server closes with 4200, 8 abrupt
// network drops). pusher-js and Echo (private and presence) through the resume plugin end with
// every event, in order, once; a stock pusher-js cut a few times the same way misses events,
// which shows the cuts really lose what the plugin gets back. A partitioned channel resumes every
// partition (`resume` as a list) and keeps each partition key in order. Echo notification() gets
// what was broadcast while the client was disconnected.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningServer } from '../src/server.js';
import Echo from 'laravel-echo';
import type { ResumeFailure } from '../client/resume.js';
import { APP, sdk, until } from './support/cluster.js';
import { startTestServer } from './support/in-process.js';
import { closeApps, cutRepeatedly, historyApp, publishTicks, settle, streamApp, streamFaults, testPusher, type StreamApp } from './support/resume-stream.js';

const COUNT = 2000;

let server: RunningServer;
before(async () => (server = await startTestServer({ apps: [historyApp()] })));
after(() => server.shutdown());

describe('resume through 100 cuts on one node', () => {
  it('pusher-js and Echo private/presence with the plugin get all 2,000 events in order, once; a stock client misses some', async () => {
    const stream = `stream.${Date.now()}`;
    const apps: StreamApp[] = [];
    for (const kind of ['pusher-js', 'echo-private', 'echo-presence'] as const) apps.push(await streamApp(kind, stream, [server.port]));
    const stock = await streamApp('stock pusher-js', stream, [server.port]);
    try {
      const [, cuts] = await Promise.all([
        publishTicks([sdk(server.port)], [stream, `private-${stream}`, `presence-${stream}`], COUNT, 200),
        Promise.all(apps.map((app) => cutRepeatedly(app, [server], 100, 12))),
        // Abrupt drops only: about a second away each time while ticks keep coming.
        cutRepeatedly(stock, [server], 3, 1),
      ]);
      await settle(apps, COUNT, 10_000);
      for (const [i, app] of apps.entries()) {
        assert.deepEqual(cuts[i], { byServer: 92, abrupt: 8 }, `${app.label}: cuts`);
        assert.deepEqual(streamFaults(app.ticks, COUNT), { received: COUNT, missing: [], repeated: [], outOfOrderAt: [] }, app.label);
        assert.deepEqual(app.failures, [], `${app.label}: every resume succeeded`);
      }
      assert.ok(stock.ticks.length < COUNT, `the stock client missed events (got ${stock.ticks.length} of ${COUNT})`);
    } finally {
      await closeApps([...apps, stock]);
    }
  });

  it('Echo notification() through the plugin: a notification broadcast while the client was away arrives on reconnect', async () => {
    const user = `App.Models.User.${Date.now()}`;
    const failures: ResumeFailure[] = [];
    const pusher = testPusher(server.port, 'notified', true, failures);
    const received: unknown[] = [];
    new Echo({ broadcaster: 'pusher', key: APP.key, client: pusher }).private(user).notification((n: { id: string }) => received.push(n.id));
    const notify = (id: string) => sdk(server.port).trigger(`private-${user}`, 'Illuminate\\Notifications\\Events\\BroadcastNotificationCreated', { id, type: 'App\\Notifications\\OrderShipped' });
    try {
      await until(() => pusher.channel(`private-${user}`)?.subscribed, 5000, 'subscribed');
      await notify('n1');
      await until(() => received.length === 1, 5000, 'the first notification');
      pusher.disconnect();
      await notify('n2');
      pusher.connect();
      await notify('n3');
      await until(() => received.length >= 3, 5000, 'every notification');
      assert.deepEqual(received, ['n1', 'n2', 'n3']);
      assert.deepEqual(failures, []);
    } finally {
      pusher.disconnect();
    }
  });

  it('a channel of 4 partitions: every event once, each partition key in order (partitions replay one after the other)', async () => {
    const parted = await startTestServer({ apps: [historyApp({ partitions: 4 })] });
    const stream = `stream.parted.${Date.now()}`;
    const count = 600;
    const keyOf = (i: number) => `key-${i % 8}`;
    const app = await streamApp('pusher-js', stream, [parted.port]);
    try {
      const [, cuts] = await Promise.all([publishTicks([sdk(parted.port)], [stream], count, 200, keyOf), cutRepeatedly(app, [parted], 30, 10)]);
      await settle([app], count, 10_000);
      assert.deepEqual(cuts, { byServer: 27, abrupt: 3 });
      const { received, missing, repeated } = streamFaults(app.ticks, count);
      assert.deepEqual({ received, missing, repeated }, { received: count, missing: [], repeated: [] });
      for (let k = 0; k < 8; k++) {
        const ofKey = app.ticks.filter((i) => keyOf(i) === `key-${k}`);
        assert.deepEqual(ofKey, [...ofKey].sort((a, b) => a - b), `key-${k} in publish order`);
      }
      assert.deepEqual(app.failures, []);
    } finally {
      await closeApps([app]);
      await parted.shutdown();
    }
  });
});
