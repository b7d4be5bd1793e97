// Redis faults as a Laravel app lives them: a publisher posting numbered events to one node while
// Redis dies or freezes, a subscriber on another node. No event answered 200 may go missing; an
// event the cluster cannot take gets 503 with Retry-After, so a queue worker retries it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { RawClient } from './support/in-process.js';
import { freePort } from './support/cli-process.js';
import { APP, rawSubscriber, sleep, startNode, startNodes, triggerRaw, until, type Node, type TriggerReply } from './support/cluster.js';
import { RedisServer } from './support/redis.js';

/** Events a raw client received on a channel, as their numbers, in arrival order. */
function numbersAt(client: RawClient, channel: string): number[] {
  return client.frames.filter((f) => f.event === 'numbered' && f.channel === channel).map((f) => (JSON.parse(f.data as string) as { n: number }).n);
}

/** First occurrences in arrival order: a publish in flight when the link broke may arrive twice. */
const distinct = (numbers: number[]) => [...new Set(numbers)];

/**
 * Posts numbered events to `port` one after another while `fault` runs, and 40 more after it
 * ended (bounded: at most 400 in all).
 */
async function publishThrough(port: number, channel: string, fault: () => Promise<void>): Promise<Map<number, TriggerReply>> {
  const replies = new Map<number, TriggerReply>();
  let faultOver = false;
  let afterFault = 0;
  const faulting = (async () => {
    await sleep(500);
    await fault();
    faultOver = true;
  })();
  for (let n = 0; n < 400 && afterFault < 40; n += 1) {
    replies.set(n, await triggerRaw(port, channel, 'numbered', { n }));
    if (faultOver) afterFault += 1;
    await sleep(40);
  }
  await faulting;
  return replies;
}

async function readyStatus(port: number): Promise<number> {
  return (await fetch(`http://127.0.0.1:${port}/ready`)).status;
}

/** Every accepted event reaches the client once Redis is back, in publish order. */
async function assertAllArrive(client: RawClient, channel: string, accepted: number[], where: string): Promise<void> {
  await until(() => accepted.every((n) => numbersAt(client, channel).includes(n)), 10_000, `every accepted event at ${where}`);
  const seen = distinct(numbersAt(client, channel));
  assert.deepEqual(seen, [...seen].sort((x, y) => x - y), `${where} got them in publish order`);
}

describe('Redis outages', () => {
  let redis: RedisServer;
  const nodes: Node[] = [];
  const sockets: RawClient[] = [];

  before(async () => {
    redis = await RedisServer.start();
  });

  after(async () => {
    for (const socket of sockets) socket.close();
    redis.resume();
    await Promise.all(nodes.map((n) => n.stop()));
    await redis.stop();
  });

  const cluster = async (config: object) => {
    const started = await startNodes(2, { redisUrl: redis.url, apps: [APP], ...config });
    nodes.push(...started);
    return started;
  };
  const subscriber = async (port: number, channel: string) => {
    const socket = await rawSubscriber(port, [channel]);
    sockets.push(socket);
    return socket;
  };

  it('answers 503 with Retry-After while Redis is down (default outagePublish "reject"); every event answered 200 reaches the other node, in order', async () => {
    const [a, b] = await cluster({ redisPrefix: 'reject' });
    const onB = await subscriber(b.port, 'numbers');
    const replies = await publishThrough(a.port, 'numbers', async () => {
      await redis.stop();
      await sleep(3000);
      await redis.restart();
      await until(async () => (await readyStatus(a.port)) === 200 && (await readyStatus(b.port)) === 200, 10_000, '/ready 200 on both nodes');
    });
    const accepted = [...replies].filter(([, r]) => r.status === 200).map(([n]) => n);
    const refused = [...replies].filter(([, r]) => r.status !== 200);
    assert.ok(refused.length > 0, 'the outage refused some events');
    for (const [n, reply] of refused) {
      assert.equal(reply.status, 503, `event ${n}: ${reply.body}`);
      assert.equal(reply.retryAfter, '2', `event ${n} carries Retry-After`);
      assert.match(reply.body, /Redis is out of reach/);
    }
    assert.ok(accepted.at(-1)! > refused.at(-1)![0], 'events are accepted again after the outage');
    await assertAllArrive(onB, 'numbers', accepted, 'node B');
  });

  it('with outagePublish "queue" answers 200 through a Redis freeze (SIGSTOP) and delivers every event on both nodes, in order, once it thaws', async () => {
    const [a, b] = await cluster({ redisPrefix: 'queue', outagePublish: 'queue' });
    const onA = await subscriber(a.port, 'queued');
    const onB = await subscriber(b.port, 'queued');
    const replies = await publishThrough(a.port, 'queued', async () => {
      redis.pause();
      await sleep(3000);
      redis.resume();
      await until(async () => (await readyStatus(a.port)) === 200 && (await readyStatus(b.port)) === 200, 10_000, '/ready 200 on both nodes');
    });
    const statuses = [...replies.values()].map((r) => r.status);
    assert.deepEqual(new Set(statuses), new Set([200]), 'every event accepted');
    const all = [...replies.keys()];
    await assertAllArrive(onB, 'queued', all, 'node B');
    // Node A delivers what it queues to its own sockets at once. An event acknowledged just before
    // the freeze whose bus echo the reconnect cut off reaches A from the bus log after the thaw,
    // behind those (README, "Events during a Redis outage"): complete, not necessarily in order.
    await until(() => all.every((n) => numbersAt(onA, 'queued').includes(n)), 10_000, 'every accepted event at node A');
  });

  it('with outagePublish "queue" drops events older than outageQueueMs instead of sending them late, and counts them in broadcasty_outage_events_dropped_total', async () => {
    const metricsPort = await freePort();
    const config = { redisUrl: redis.url, apps: [APP], redisPrefix: 'stale', outagePublish: 'queue', outageQueueMs: 1000 };
    const a = await startNode({ ...config, metrics: true, metricsHost: '127.0.0.1', metricsPort });
    const b = await startNode(config);
    nodes.push(a, b);
    const onB = await subscriber(b.port, 'stale');
    await redis.stop();
    await until(async () => (await readyStatus(a.port)) === 503, 5000, '/ready 503');
    for (const n of [1, 2, 3]) assert.equal((await triggerRaw(a.port, 'stale', 'numbered', { n })).status, 200);
    await sleep(1500);
    await redis.restart();
    await until(async () => (await readyStatus(a.port)) === 200 && (await readyStatus(b.port)) === 200, 10_000, '/ready 200 on both nodes');
    assert.equal((await triggerRaw(a.port, 'stale', 'numbered', { n: 4 })).status, 200);
    await until(() => numbersAt(onB, 'stale').includes(4), 5000, 'the fresh event at node B');
    assert.deepEqual(numbersAt(onB, 'stale'), [4], 'the stale events were not sent late');
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(metrics, /^broadcasty_outage_events_dropped_total\{app_id="app-id"\} 3$/m);
  });

  it('a node whose bus connection alone dropped catches up on the events published meanwhile, once each and in order', async () => {
    const [a, b] = await cluster({ redisPrefix: 'catch-up' });
    const onB = await subscriber(b.port, 'catch-up');
    // Frozen, B cannot resubscribe before A publishes: the events are published into the gap.
    b.cli.child.kill('SIGSTOP');
    const sent = Array.from({ length: 30 }, (_, n) => n);
    try {
      const inspect = new Redis(redis.url);
      try {
        const clients = (await inspect.client('LIST')) as string;
        const bus = clients.split('\n').find((line) => line.includes(`:${b.cli.child.pid}:bus`));
        assert.ok(bus !== undefined, `node B's bus connection in ${clients}`);
        await inspect.client('KILL', 'ID', /\bid=(\d+)/.exec(bus)![1]);
      } finally {
        inspect.disconnect();
      }
      // Node A never lost its link: these are answered 200.
      for (const n of sent) assert.equal((await triggerRaw(a.port, 'catch-up', 'numbered', { n })).status, 200);
    } finally {
      b.cli.child.kill('SIGCONT');
    }
    await until(() => numbersAt(onB, 'catch-up').length >= sent.length, 10_000, 'every event at node B');
    await sleep(200);
    assert.deepEqual(numbersAt(onB, 'catch-up'), sent);
  });

  it('turns /ready 503 within about a second of Redis freezing (SIGSTOP) and back to 200 after SIGCONT', async () => {
    const [a] = await cluster({ redisPrefix: 'ready' });
    assert.equal(await readyStatus(a.port), 200);
    redis.pause();
    const frozeAt = Date.now();
    try {
      await until(async () => (await readyStatus(a.port)) === 503, 5000, '/ready 503');
      const elapsed = Date.now() - frozeAt;
      assert.ok(elapsed < 2000, `/ready turned 503 ${elapsed} ms after the freeze`);
    } finally {
      redis.resume();
    }
    await until(async () => (await readyStatus(a.port)) === 200, 10_000, '/ready 200 after SIGCONT');
  });
});
