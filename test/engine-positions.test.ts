// Stream positions {offset, epoch} as the engines report them for each publish: one unbroken run
// of offsets per channel while its stream lives (subscribers coming and going do not end it),
// and a new epoch whenever continuity is lost — a new process, an expired stream, Redis losing
// its data, a publish on this node alone while Redis is out of reach.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config/load.js';
import { createEngine } from '../src/engine/index.js';
import { RedisKeys } from '../src/engine/redis-keys.js';
import { LocalStreams, STREAM_IDLE_MS } from '../src/engine/streams.js';
import type { Engine, Publication } from '../src/engine/types.js';
import { createLogger } from '../src/logger.js';
import { until } from './support/cluster.js';
import { RedisServer } from './support/redis.js';

const APP_ID = 'app-id';
const event = (channel: string, i: number, durable = false): Publication => ({ appId: APP_ID, channel, frame: `{"event":"e","data":"${i}","channel":"${channel}"}`, sequenced: true, durable });
const quiet = { deliver: () => undefined, terminateUser: () => undefined, userStatusChanged: () => undefined };
const noChanges = { memberLeft: () => undefined, memberReturned: () => undefined, subscribersChanged: () => undefined };

async function startEngine(overrides: Record<string, unknown> = {}): Promise<Engine> {
  const config = loadConfig({ env: {}, overrides: { logLevel: 'silent', ...overrides } });
  const engine = await createEngine(config, createLogger('silent'), { outageEventsDropped: () => undefined });
  await engine.start(quiet, noChanges);
  return engine;
}

describe('stream positions: memory engine', () => {
  it('offsets rise by one per publish across subscribers leaving and joining; unsequenced publishes are offset 0', async () => {
    const engine = await startEngine();
    const first = await engine.publish(event('news', 1));
    await engine.addSubscription(APP_ID, 'news', 's1');
    const second = await engine.publish(event('news', 2));
    await engine.removeSubscription(APP_ID, 'news', 's1');
    await engine.addSubscription(APP_ID, 'news', 's2');
    const third = await engine.publish(event('news', 3));
    assert.deepEqual([first.offset, second.offset, third.offset], [1, 2, 3]);
    assert.equal(second.epoch, first.epoch);
    assert.equal(third.epoch, first.epoch);
    assert.deepEqual(await engine.publish({ ...event('news', 4), sequenced: false }), { offset: 0, epoch: '' });
    assert.equal((await engine.publish(event('other', 5))).offset, 1, 'each channel has its own stream');
    await engine.stop();
  });

  it('a new process starts every stream at offset 1 under a new epoch', async () => {
    const before = await (await startEngine()).publish(event('news', 1));
    const after = await (await startEngine()).publish(event('news', 1));
    assert.equal(after.offset, 1);
    assert.notEqual(after.epoch, before.epoch);
  });

  it('a stream without a publish for the Redis idle expiry starts over at offset 1 under a new epoch', () => {
    const streams = new LocalStreams();
    const t0 = 1_000_000;
    const a = streams.next('news', t0);
    const b = streams.next('news', t0 + STREAM_IDLE_MS);
    const c = streams.next('news', t0 + 2 * STREAM_IDLE_MS + 1);
    assert.deepEqual([a.offset, b.offset, c.offset], [1, 2, 1]);
    assert.equal(b.epoch, a.epoch);
    assert.notEqual(c.epoch, a.epoch);
  });
});

describe('stream positions: Redis engine', () => {
  let redis: RedisServer;
  let client: Redis;
  const keys = new RedisKeys('broadcasty');
  const engines: Engine[] = [];
  const start = async (overrides: Record<string, unknown> = {}) => {
    const engine = await startEngine({ redisUrl: redis.url, ...overrides });
    engines.push(engine);
    return engine;
  };

  before(async () => {
    redis = await RedisServer.start();
    client = new Redis(redis.url, { lazyConnect: true });
    client.on('error', () => undefined); // reconnects by itself after the outage test's restarts
    await client.connect();
  });

  after(async () => {
    await Promise.all(engines.map((e) => e.stop()));
    client.disconnect();
    await redis.stop();
  });

  it('two nodes share one stream per channel: offsets 1..6 in publish order under one epoch, through subscriber churn', async () => {
    const [a, b] = await Promise.all([start(), start()]);
    const positions = [];
    for (let i = 1; i <= 6; i += 1) {
      const node = i % 2 === 0 ? a : b;
      if (i === 3) await node.addSubscription(APP_ID, 'shared', 's1');
      if (i === 4) await node.removeSubscription(APP_ID, 'shared', 's1');
      positions.push(await node.publish(event('shared', i)));
    }
    assert.deepEqual(positions.map((p) => p.offset), [1, 2, 3, 4, 5, 6]);
    assert.equal(new Set(positions.map((p) => p.epoch)).size, 1);
    assert.notEqual(positions[0].epoch, '');
  });

  it('history entries are keyed by offset, so "since offset N" is one XRANGE', async () => {
    const engine = await start({ historyLength: 10 });
    for (let i = 1; i <= 5; i += 1) await engine.publish(event('history', i));
    const since3 = await client.xrange(keys.app(APP_ID, 'history', 'history'), '4-0', '+');
    assert.deepEqual(since3, [
      ['4-0', ['frame', event('history', 4).frame]],
      ['5-0', ['frame', event('history', 5).frame]],
    ]);
  });

  it('after Redis lost its data (FLUSHALL) a stream starts at offset 1 under a new epoch, and the old history is gone', async () => {
    const engine = await start({ historyLength: 10 });
    await engine.publish(event('flushed', 1));
    const before = await engine.publish(event('flushed', 2));
    await client.flushall();
    await client.xadd(keys.app(APP_ID, 'history', 'flushed'), '7-0', 'frame', 'left over from another epoch');
    const after = await engine.publish(event('flushed', 3));
    assert.equal(before.offset, 2);
    assert.equal(after.offset, 1);
    assert.notEqual(after.epoch, before.epoch);
    assert.deepEqual(await client.xrange(keys.app(APP_ID, 'history', 'flushed'), '-', '+'), [['1-0', ['frame', event('flushed', 3).frame]]]);
  });

  it('outagePublish "queue": a publish while Redis is out of reach reports this node\'s own epoch, a new one per outage', async () => {
    const engine = await start({ outagePublish: 'queue' });
    const linked = await engine.publish(event('outage', 1, true));
    const outage = async () => {
      await redis.stop();
      await until(() => engine.health() === 'degraded', 5000, 'engine degraded');
      const position = await engine.publish(event('outage', 2, true));
      await redis.restart();
      await until(() => engine.health() === 'ok', 10000, 'engine back');
      return position;
    };
    const first = await outage();
    const second = await outage();
    for (const local of [first, second]) {
      assert.equal(local.offset, 1);
      assert.notEqual(local.epoch, linked.epoch);
    }
    assert.notEqual(second.epoch, first.epoch);
    const back = await engine.publish(event('outage', 3, true));
    assert.notEqual(back.epoch, first.epoch);
    assert.notEqual(back.epoch, second.epoch);
  });
});
