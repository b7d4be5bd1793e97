// Resume on subscribe (docs/PROTOCOL.md §13.3): every missed event once, in order, then live
// ones — with publishes landing before, during and after the subscriber's history read (a gated
// LocalEngine places them exactly), under a concurrent publisher, and across two Redis nodes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { RunningServer } from '../src/server.js';
import { APP, sleep, startNodes, triggerRaw, until, type Node } from './support/cluster.js';
import { ChannelReader, Gate, GatedEngine, historyApp, startHistoryServer, type PositionedFrame, type Resume } from './support/history.js';
import { RedisServer } from './support/redis.js';

const RULES = [{ channels: ['orders', 'private-orders'], maxEvents: 1000 }];

async function publish(port: number, channel: string, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) {
    const reply = await triggerRaw(port, channel, 'e', { i });
    assert.equal(reply.status, 200, reply.body);
  }
}

/** The `i` each received event carried, in arrival order. */
const carried = (reader: ChannelReader) => reader.frames('e').map((f) => (JSON.parse(f.data as string) as { i: number }).i);

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => from + k);

/** The server's live-frame holds: empty once no one replays (a closed or left replay leaves none). */
const holds = (server: RunningServer) => (server.ctx.hub as unknown as { holding: Map<string, unknown> }).holding.size;

describe('resume on one node', () => {
  let server: RunningServer;
  const engine = new GatedEngine();
  let position: Resume;
  before(async () => {
    server = await startHistoryServer(RULES, {}, engine);
    const probe = await ChannelReader.open(server.port, 'orders');
    position = { epoch: probe.succeeded.epoch!, offset: 0 };
    probe.reader.client.close();
    await publish(server.port, 'orders', 1, 450);
  });
  after(() => server.shutdown());

  it('replays exactly the missed events across several history pages, then live ones', async () => {
    const { reader, succeeded } = await ChannelReader.open(server.port, 'orders', { epoch: position.epoch, offset: 10 });
    assert.equal(succeeded.offset, 450);
    await until(() => reader.offsets().length === 440);
    await publish(server.port, 'orders', 451, 2);
    await until(() => reader.offsets().length === 442);
    assert.deepEqual(reader.offsets(), range(11, 452));
    assert.deepEqual(carried(reader), range(11, 452));
    reader.client.close();
  });

  it('sends an event published while the stream is read (stored and held) once', async () => {
    const gate = (engine.beforeRead = new Gate());
    const reader = await subscribeAt(server.port, 'orders', { epoch: position.epoch, offset: 448 }, gate, () => publish(server.port, 'orders', 453, 3));
    await until(() => reader.offsets().length === 7);
    await publish(server.port, 'orders', 456, 1);
    await until(() => reader.offsets().length === 8);
    assert.deepEqual(reader.offsets(), range(449, 456));
    reader.client.close();
  });

  it('sends events published after the read (held only) once the replay is done, in order', async () => {
    const gate = (engine.afterRead = new Gate());
    const reader = await subscribeAt(server.port, 'orders', { epoch: position.epoch, offset: 450 }, gate, () => publish(server.port, 'orders', 457, 4));
    await until(() => reader.offsets().length === 10);
    assert.deepEqual(reader.offsets(), range(451, 460));
    assert.equal(holds(server), 0);
    reader.client.close();
  });

  it('holds nothing back for its own client event while replaying, and others get it', async () => {
    const other = await ChannelReader.open(server.port, 'private-orders');
    await publish(server.port, 'private-orders', 1, 250);
    // The gate holds the replay's second page: the client is subscribed and has the first 200.
    engine.readsToSkip = 1;
    const gate = (engine.afterRead = new Gate());
    const reader = await ChannelReader.start(server.port, 'private-orders', { epoch: other.succeeded.epoch!, offset: 0 });
    await gate.entered;
    reader.client.send({ event: 'client-note', channel: 'private-orders', data: { from: 'replaying' } });
    const note = await other.reader.client.next((f) => f.event === 'client-note');
    assert.equal((note as PositionedFrame).offset, 251);
    await publish(server.port, 'private-orders', 251, 1);
    gate.open();
    await until(() => reader.offsets().length === 251);
    assert.deepEqual(reader.offsets(), [...range(1, 250), 252]);
    assert.deepEqual(reader.frames('client-note'), []);
    reader.client.close();
    other.reader.client.close();
  });

  it('leaves nothing behind when the client closes during the replay', async () => {
    const gate = (engine.afterRead = new Gate());
    const { client, socketId } = await ChannelReader.start(server.port, 'orders', { epoch: position.epoch, offset: 5 });
    await gate.entered;
    await publish(server.port, 'orders', 461, 1);
    client.ws.terminate();
    await until(() => !server.ctx.hub.connections.has(socketId));
    gate.open();
    await until(async () => holds(server) === 0 && (await server.ctx.engine.subscriptionCount(APP.id, 'orders')) === 0);
    const after = await ChannelReader.open(server.port, 'orders');
    await publish(server.port, 'orders', 462, 1);
    await until(() => after.reader.offsets().length === 1);
    after.reader.client.close();
  });

  it('stops the replay when the client unsubscribes during it', async () => {
    const gate = (engine.afterRead = new Gate());
    const reader = await ChannelReader.start(server.port, 'orders', { epoch: position.epoch, offset: 400 });
    const { client } = reader;
    await gate.entered;
    await publish(server.port, 'orders', 463, 1);
    gate.open();
    await client.next((f) => f.event === 'pusher_internal:subscription_succeeded');
    client.send({ event: 'pusher:unsubscribe', data: { channel: 'orders' } });
    await until(() => holds(server) === 0);
    await publish(server.port, 'orders', 464, 1);
    client.send({ event: 'pusher:ping', data: {} });
    await client.next((f) => f.event === 'pusher:pong');
    assert.ok(!carried(reader).includes(464), 'no live event after the unsubscribe');
    client.close();
  });

  it('closes a client whose held frames pass the slow-consumer limit with 4100', async () => {
    const smallEngine = new GatedEngine();
    const small = await startHistoryServer(RULES, { maxBackpressureBytes: 4096 }, smallEngine);
    try {
      const gate = (smallEngine.afterRead = new Gate());
      const { client } = await ChannelReader.start(small.port, 'orders', { epoch: 'any', offset: 0 });
      await gate.entered;
      for (let i = 0; i < 3; i++) assert.equal((await triggerRaw(small.port, 'orders', 'big', 'x'.repeat(2000))).status, 200);
      gate.open();
      const error = await client.next((f) => f.event === 'pusher:error');
      assert.equal((error.data as { code: number }).code, 4100);
      assert.equal((await client.closed).code, 4100);
      await until(() => holds(small) === 0);
    } finally {
      await small.shutdown();
    }
  });
});

/** Subscribes with `resume`; `meanwhile` runs while the subscribe's history read waits at the gate. */
async function subscribeAt(port: number, channel: string, resume: Resume, gate: Gate, meanwhile: () => Promise<void>): Promise<ChannelReader> {
  const reader = await ChannelReader.start(port, channel, resume);
  await gate.entered;
  await meanwhile();
  gate.open();
  await reader.succeeded();
  return reader;
}

/**
 * A subscriber that resumes on a new socket `rounds` times while `publisher` publishes 1..total:
 * it must end with every event exactly once, in order, each socket's share contiguous.
 */
async function resumeUnderLoad(publishPort: number, subscribePorts: number[], total: number, rounds: number): Promise<void> {
  const first = await ChannelReader.open(subscribePorts[0], 'orders');
  let last: Resume = { epoch: first.succeeded.epoch!, offset: first.succeeded.offset! };
  const base = last.offset;
  first.reader.client.ws.terminate();
  const publishing = publish(publishPort, 'orders', 1, total);
  const received: number[] = [];
  for (let round = 0; round <= rounds; round++) {
    const port = subscribePorts[round % subscribePorts.length];
    const { reader } = await ChannelReader.open(port, 'orders', last);
    const target = round === rounds ? total : Math.min(total, received.length + Math.ceil(total / (rounds + 1)));
    await until(() => received.length + reader.offsets().length >= target, 30_000, `round ${round} reaching ${target}`);
    if (round < rounds) await sleep(5);
    reader.client.ws.terminate();
    assert.deepEqual(reader.frames('broadcasty:resume_failed'), []);
    const offsets = reader.offsets();
    assert.deepEqual(offsets, range(last.offset + 1, last.offset + offsets.length), `round ${round}: contiguous from ${last.offset + 1}: ${offsets.join(" ")}`);
    received.push(...carried(reader));
    if (offsets.length > 0) last = { epoch: last.epoch, offset: offsets[offsets.length - 1] };
  }
  await publishing;
  assert.equal(last.offset, base + total);
  assert.deepEqual(received, range(1, total));
}

describe('resume under a concurrent publisher', () => {
  for (const transport of ['auto', 'node']) {
    it(`LocalEngine, ${transport} transport: 500 events, resubscribed 8 times mid-way, every event once in order`, async () => {
      const server = await startHistoryServer(RULES, { transport });
      try {
        await resumeUnderLoad(server.port, [server.port], 500, 8);
      } finally {
        await server.shutdown();
      }
    });
  }
});

describe('resume across a 2-node Redis cluster', () => {
  let redis: RedisServer;
  let nodes: Node[];
  before(async () => {
    redis = await RedisServer.start();
    nodes = await startNodes(2, { redisUrl: redis.url, apps: [historyApp(RULES)] });
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await redis.stop();
  });

  it('replays on node B what was published on node A, then live events', async () => {
    const [a, b] = nodes;
    const probe = await ChannelReader.open(b.port, 'orders');
    const start: Resume = { epoch: probe.succeeded.epoch!, offset: probe.succeeded.offset! };
    probe.reader.client.close();
    await publish(a.port, 'orders', 1, 20);
    const { reader, succeeded } = await ChannelReader.open(b.port, 'orders', { epoch: start.epoch, offset: start.offset + 5 });
    assert.equal(succeeded.epoch, start.epoch);
    assert.equal(succeeded.offset, start.offset + 20);
    await publish(a.port, 'orders', 21, 2);
    await until(() => reader.offsets().length === 17);
    assert.deepEqual(carried(reader), range(6, 22));
    reader.client.close();
  });

  it('500 events published on node A while the subscriber resumes alternately on B and A', async () => {
    await resumeUnderLoad(nodes[0].port, [nodes[1].port, nodes[0].port], 500, 8);
  });

  it('says epoch_changed after FLUSHALL lost the stream, then goes on live', async () => {
    const [a, b] = nodes;
    const probe = await ChannelReader.open(b.port, 'orders');
    const old = probe.succeeded;
    probe.reader.client.close();
    execFileSync('redis-cli', ['-p', String(redis.port), 'FLUSHALL']);
    const { reader, succeeded } = await ChannelReader.open(b.port, 'orders', { epoch: old.epoch, offset: old.offset });
    const frame = await reader.client.next((f) => f.event === 'broadcasty:resume_failed');
    assert.notEqual(succeeded.epoch, old.epoch);
    assert.deepEqual(JSON.parse(frame.data as string), { reason: 'epoch_changed', offset: 0, epoch: succeeded.epoch });
    await publish(a.port, 'orders', 1, 1);
    await until(() => reader.offsets().length === 1);
    assert.deepEqual(reader.offsets(), [1]);
    assert.equal(reader.frames('e')[0].epoch, succeeded.epoch);
    reader.client.close();
  });
});
