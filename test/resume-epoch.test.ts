// When the server cannot resume (docs/PROTOCOL.md §13.3): the history was lost (a LocalEngine
// server restarted, Redis flushed) or trimmed past the client's position. The app with the
// plugin gets `broadcasty:resume_failed` on the channel (bind and onResumeFailed) before any
// later event, and goes on with the events that follow; never a silent skip.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import type { ResumeFailure } from '../client/resume.js';
import type { RunningServer } from '../src/server.js';
import { sdk, until } from './support/cluster.js';
import { startTestServer } from './support/in-process.js';
import { RedisServer } from './support/redis.js';
import { Relay } from './support/relay.js';
import { historyApp, testPusher } from './support/resume-stream.js';

type Pusher = ReturnType<typeof testPusher>;

/** What the app saw on the channel, in order: `tick <i>` and `failed <reason>` from bind. */
interface Watched {
  pusher: Pusher;
  seen: string[];
  failures: ResumeFailure[];
}

async function watch(port: number, channel: string): Promise<Watched> {
  const failures: ResumeFailure[] = [];
  const pusher = testPusher(port, 'watcher', true, failures);
  const watched: Watched = { pusher, seen: [], failures };
  const subscription = pusher.subscribe(channel);
  subscription.bind('tick', (data: { i: number }) => watched.seen.push(`tick ${data.i}`));
  subscription.bind('broadcasty:resume_failed', (data: ResumeFailure) => watched.seen.push(`failed ${data.reason}`));
  await until(() => subscription.subscribed, 5000, `subscribed to ${channel}`);
  return watched;
}

async function publish(port: number, channel: string, ticks: number[]): Promise<string> {
  let epoch = '';
  for (const i of ticks) {
    const reply = (await (await sdk(port).trigger(channel, 'tick', { i })).json()) as { positions: Record<string, { epoch: string }> };
    epoch = reply.positions[channel].epoch;
  }
  return epoch;
}

const seenAll = (w: Watched, expected: string[], what: string) => until(() => w.seen.length >= expected.length, 10_000, what).then(() => assert.deepEqual(w.seen, expected));

const stopping: (() => Promise<void>)[] = [];
after(async () => {
  for (const stop of stopping.reverse()) await stop();
});

describe('resume that cannot be served: the app is told, never skipped silently', () => {
  it('a LocalEngine server is replaced by a new process: epoch_changed, then the new epoch’s events', async () => {
    const first = await startTestServer({ apps: [historyApp()] });
    // The client reaches the server through a relay, as through a load balancer: the new process has a port of its own.
    const relay = await Relay.start([first.port]);
    stopping.push(() => relay.stop());
    const channel = `stream.restart.${Date.now()}`;
    const w = await watch(relay.port, channel);
    stopping.push(async () => w.pusher.disconnect());
    const oldEpoch = await publish(first.port, channel, [0, 1, 2]);
    await seenAll(w, ['tick 0', 'tick 1', 'tick 2'], 'ticks before the replacement');

    // A deploy: the new process is up, the old one drains (4200) and the client lands on the new one.
    const second = await startTestServer({ apps: [historyApp()] });
    stopping.push(() => second.shutdown());
    relay.upstreamPorts[0] = second.port;
    await first.shutdown();
    await until(() => w.failures.length > 0, 10_000, 'resume_failed after the replacement');
    const newEpoch = await publish(second.port, channel, [3]);
    await seenAll(w, ['tick 0', 'tick 1', 'tick 2', 'failed epoch_changed', 'tick 3'], 'tick after the replacement');
    assert.notEqual(newEpoch, oldEpoch);
    assert.deepEqual(w.failures, [{ reason: 'epoch_changed', offset: 0, epoch: w.failures[0].epoch }]);
    assert.notEqual(w.failures[0].epoch, oldEpoch);
  });

  it('Redis is flushed while the client is away: epoch_changed naming the new stream position', async () => {
    const redis = await RedisServer.start();
    stopping.push(() => redis.stop());
    const server = await startTestServer({ apps: [historyApp()], redisUrl: redis.url });
    stopping.push(() => server.shutdown());
    const channel = `stream.flushed.${Date.now()}`;
    const w = await watch(server.port, channel);
    stopping.push(async () => w.pusher.disconnect());
    const oldEpoch = await publish(server.port, channel, [0, 1]);
    await seenAll(w, ['tick 0', 'tick 1'], 'ticks before the flush');

    w.pusher.disconnect();
    execFileSync('redis-cli', ['-p', String(redis.port), 'FLUSHALL']);
    const newEpoch = await publish(server.port, channel, [2, 3]);
    w.pusher.connect();
    await until(() => w.failures.length > 0, 10_000, 'resume_failed after the flush');
    await publish(server.port, channel, [4]);
    await seenAll(w, ['tick 0', 'tick 1', 'failed epoch_changed', 'tick 4'], 'tick after the flush');
    assert.notEqual(newEpoch, oldEpoch);
    assert.deepEqual(w.failures, [{ reason: 'epoch_changed', offset: 2, epoch: newEpoch }]);
  });

  for (const engine of ['local', 'redis'] as const) {
    it(`history trimmed past the client's position (${engine} engine): trimmed, then live events from the current position`, async () => {
      const redis = engine === 'redis' ? await RedisServer.start() : undefined;
      if (redis !== undefined) stopping.push(() => redis.stop());
      const server: RunningServer = await startTestServer({ apps: [historyApp({ maxEvents: 5 })], ...(redis === undefined ? {} : { redisUrl: redis.url }) });
      stopping.push(() => server.shutdown());
      const channel = `stream.trimmed.${Date.now()}`;
      const w = await watch(server.port, channel);
      stopping.push(async () => w.pusher.disconnect());
      await publish(server.port, channel, [0]);
      await seenAll(w, ['tick 0'], 'the first tick');

      w.pusher.disconnect();
      const epoch = await publish(server.port, channel, Array.from({ length: 20 }, (_, i) => i + 1));
      w.pusher.connect();
      await until(() => w.failures.length > 0, 10_000, 'resume_failed after the trim');
      await publish(server.port, channel, [21]);
      await seenAll(w, ['tick 0', 'failed trimmed', 'tick 21'], 'the tick after the trim');
      assert.deepEqual(w.failures, [{ reason: 'trimmed', offset: 21, epoch }]);
    });
  }
});
