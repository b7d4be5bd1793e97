// History channels on the wire (docs/PROTOCOL.md §13.2, §13.3): positions on event frames and on
// subscription_succeeded, stock pusher-js unaffected, plain channels byte-identical, client
// events sequenced, resume_failed reasons, and bad resume data refused with a clear error.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningServer } from '../src/server.js';
import { APP, Client, triggerRaw, until } from './support/cluster.js';
import { ChannelReader, startHistoryServer, type PositionedFrame } from './support/history.js';
import { RawClient } from './support/in-process.js';

const RULES = [
  { channels: ['orders', 'private-orders.*', 'presence-room', '__proto__'] },
  { channels: ['short'], maxEvents: 5 },
  { channels: ['parts'], partitions: 4 },
];

async function publish(port: number, channel: string, count: number, event = 'e'): Promise<void> {
  for (let i = 0; i < count; i++) {
    const reply = await triggerRaw(port, channel, event, { i });
    assert.equal(reply.status, 200, reply.body);
  }
}

for (const transport of ['auto', 'node']) describeWire(transport);

function describeWire(transport: string): void {
  describe(`history channels on the wire (${transport} transport)`, () => {
    let server: RunningServer;
    before(async () => {
      server = await startHistoryServer(RULES, { transport });
    });
    after(() => server.shutdown());

    it('sends frames on channels without history byte-identical to plain Pusher', async () => {
      const { reader, text } = await ChannelReader.open(server.port, 'news', { epoch: 'ignored', offset: 3 });
      assert.equal(text, '{"event":"pusher_internal:subscription_succeeded","data":"{}","channel":"news"}');
      await publish(server.port, 'news', 1);
      const event = await reader.client.next((f) => f.event === 'e');
      assert.equal(reader.client.text(event), '{"event":"e","data":"{\\"i\\":0}","channel":"news"}');
      reader.client.close();
    });

    it('numbers events 1..N in one epoch and tells a subscriber where the stream stands', async () => {
      const first = await ChannelReader.open(server.port, 'orders');
      const epoch = first.succeeded.epoch!;
      assert.match(epoch, /^\S+$/);
      assert.equal(first.text, `{"event":"pusher_internal:subscription_succeeded","data":"{}","channel":"orders","offset":0,"epoch":"${epoch}"}`);
      await publish(server.port, 'orders', 5);
      await until(() => first.reader.offsets().length === 5);
      const texts = first.reader.frames('e').map((f) => first.reader.client.text(f));
      assert.deepEqual(
        texts,
        [0, 1, 2, 3, 4].map((i) => `{"event":"e","data":"{\\"i\\":${i}}","channel":"orders","offset":${i + 1},"epoch":"${epoch}"}`),
      );
      const second = await ChannelReader.open(server.port, 'orders');
      assert.equal(second.text, `{"event":"pusher_internal:subscription_succeeded","data":"{}","channel":"orders","offset":5,"epoch":"${epoch}"}`);
      first.reader.client.close();
      second.reader.client.close();
    });

    it('gives each partition its own offsets and lists every partition on subscribe', async () => {
      const { reader, succeeded } = await ChannelReader.open(server.port, 'parts');
      assert.equal(succeeded.offset, undefined);
      assert.deepEqual(
        succeeded.positions!.map((p) => [p.partition, p.offset]),
        [0, 1, 2, 3].map((p) => [p, 0]),
      );
      const app = (await server.ctx.registry.findById(APP.id))!;
      const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'a', 'a'];
      for (const key of keys) await server.ctx.pipeline.publishEvent(app, { name: 'e', data: key, dataBytes: 1, channels: ['parts'], partitionKey: key });
      await until(() => reader.frames('e').length === keys.length);
      const perPartition = new Map<number, number[]>();
      const partitionOfKey = new Map<string, number>();
      for (const frame of reader.frames('e')) {
        assert.equal(frame.epoch, succeeded.positions![frame.partition!].epoch);
        perPartition.set(frame.partition!, [...(perPartition.get(frame.partition!) ?? []), frame.offset!]);
        const seen = partitionOfKey.get(frame.data as string);
        assert.ok(seen === undefined || seen === frame.partition, 'one key, one partition');
        partitionOfKey.set(frame.data as string, frame.partition!);
      }
      for (const offsets of perPartition.values()) assert.deepEqual(offsets, offsets.map((_, i) => i + 1));
      reader.client.close();
    });

    it('answers HTTP-style publishes with the positions they got, on history channels only', async () => {
      const app = (await server.ctx.registry.findById(APP.id))!;
      const { reader, succeeded } = await ChannelReader.open(server.port, 'orders');
      const positions = await server.ctx.pipeline.publishEvent(app, { name: 'e', data: 'x', dataBytes: 1, channels: ['orders', 'news'] });
      assert.deepEqual({ ...positions }, { orders: { offset: succeeded.offset! + 1, epoch: succeeded.epoch } });
      const batch = await server.ctx.pipeline.publishBatch(app, [
        { name: 'e', data: 'y', dataBytes: 1, channels: ['news'] },
        { name: 'e', data: 'z', dataBytes: 1, channels: ['parts'], partitionKey: 'k' },
      ]);
      assert.deepEqual({ ...batch[0] }, {});
      const [[channel, position]] = Object.entries(batch[1]);
      assert.equal(channel, 'parts');
      assert.equal(typeof position.partition, 'number');
      const proto = await server.ctx.pipeline.publishEvent(app, { name: 'e', data: 'p', dataBytes: 1, channels: ['__proto__'] });
      assert.equal(JSON.stringify(proto), `{"__proto__":${JSON.stringify(proto['__proto__'])}}`);
      assert.equal(proto['__proto__'].offset, 1);
      reader.client.close();
    });

    it('delivers history-channel events to stock pusher-js bind and bind_global exactly as plain ones', async () => {
      const client = await Client.connect(server.port);
      const received: { via: string; channel: string; data: unknown }[] = [];
      for (const name of ['orders', 'news']) {
        const channel = await client.subscribe(name);
        assert.equal(channel.subscribed, true);
        channel.bind('same', (data: unknown) => received.push({ via: 'bind', channel: name, data }));
      }
      client.pusher.bind_global((event: string, data: unknown) => {
        if (event === 'same') received.push({ via: 'global', channel: '?', data });
      });
      await triggerRaw(server.port, 'orders', 'same', { n: 1, s: 'x' });
      await triggerRaw(server.port, 'news', 'same', { n: 1, s: 'x' });
      await until(() => received.length === 4);
      const byChannel = (name: string) => received.find((r) => r.via === 'bind' && r.channel === name)!.data;
      assert.deepEqual(byChannel('orders'), { n: 1, s: 'x' });
      assert.deepEqual(byChannel('orders'), byChannel('news'));
      assert.deepEqual(
        received.filter((r) => r.via === 'global').map((r) => r.data),
        [
          { n: 1, s: 'x' },
          { n: 1, s: 'x' },
        ],
      );
      client.disconnect();
    });

    it('sequences client events on a history channel and keeps them from their sender', async () => {
      const a = await ChannelReader.open(server.port, 'private-orders.7');
      const b = await ChannelReader.open(server.port, 'private-orders.7');
      const epoch = a.succeeded.epoch!;
      a.reader.client.send({ event: 'client-typing', channel: 'private-orders.7', data: { who: 'a' } });
      const got = await b.reader.client.next((f) => f.event === 'client-typing');
      assert.equal(b.reader.client.text(got), `{"event":"client-typing","data":"{\\"who\\":\\"a\\"}","channel":"private-orders.7","offset":1,"epoch":"${epoch}"}`);
      await publish(server.port, 'private-orders.7', 1);
      await until(() => a.reader.offsets().length === 1);
      assert.deepEqual(a.reader.offsets(), [2]);
      assert.deepEqual(a.reader.frames('client-typing'), []);
      a.reader.client.close();
      b.reader.client.close();
    });

    it('keeps member frames unsequenced on a presence history channel', async () => {
      const first = await ChannelReader.open(server.port, 'presence-room', undefined, 'u1');
      assert.equal(typeof first.succeeded.offset, 'number');
      const second = await ChannelReader.open(server.port, 'presence-room', undefined, 'u2');
      const added = await first.reader.client.next((f) => f.event === 'pusher_internal:member_added');
      assert.equal(first.reader.client.text(added), '{"event":"pusher_internal:member_added","data":"{\\"user_id\\":\\"u2\\",\\"user_info\\":null}","channel":"presence-room"}');
      first.reader.client.close();
      second.reader.client.close();
    });
  });
}

describe('resume that cannot be served: broadcasty:resume_failed', () => {
  let server: RunningServer;
  before(async () => {
    server = await startHistoryServer(RULES);
  });
  after(() => server.shutdown());

  async function failed(channel: string, resume: unknown): Promise<{ reader: ChannelReader; succeeded: PositionedFrame; data: Record<string, unknown> }> {
    const { reader, succeeded } = await ChannelReader.open(server.port, channel, resume);
    const frame = await reader.client.next((f) => f.event === 'broadcasty:resume_failed');
    assert.equal(frame.channel, channel);
    return { reader, succeeded, data: JSON.parse(frame.data as string) as Record<string, unknown> };
  }

  it('says trimmed when retention dropped events after the client offset, then goes on live', async () => {
    await publish(server.port, 'short', 20);
    const probe = await ChannelReader.open(server.port, 'short');
    const epoch = probe.succeeded.epoch!;
    probe.reader.client.close();
    const { reader, data } = await failed('short', { epoch, offset: 3 });
    assert.deepEqual(data, { reason: 'trimmed', offset: 20, epoch });
    assert.deepEqual(reader.offsets(), []);
    await publish(server.port, 'short', 1);
    await until(() => reader.offsets().length === 1);
    assert.deepEqual(reader.offsets(), [21]);
    reader.client.close();
  });

  it('replays when the oldest stored event directly follows the client offset', async () => {
    const probe = await ChannelReader.open(server.port, 'short');
    const { epoch, offset } = probe.succeeded;
    probe.reader.client.close();
    const { reader } = await ChannelReader.open(server.port, 'short', { epoch, offset: offset! - 5 });
    await until(() => reader.offsets().length === 5);
    assert.deepEqual(reader.offsets(), [offset! - 4, offset! - 3, offset! - 2, offset! - 1, offset!]);
    assert.deepEqual(reader.frames('broadcasty:resume_failed'), []);
    reader.client.close();
  });

  it('says ahead for an offset the stream has not reached, and epoch_changed for an epoch it never issued', async () => {
    await publish(server.port, 'orders', 2);
    const probe = await ChannelReader.open(server.port, 'orders');
    const { epoch, offset } = probe.succeeded;
    probe.reader.client.close();
    const ahead = await failed('orders', { epoch, offset: offset! + 1000 });
    assert.deepEqual(ahead.data, { reason: 'ahead', offset, epoch });
    const unknown = await failed('orders', { epoch: 'not-an-epoch', offset: 1 });
    assert.deepEqual(unknown.data, { reason: 'epoch_changed', offset, epoch });
    ahead.reader.client.close();
    unknown.reader.client.close();
  });

  it('reports per partition, with the partition, on a partitioned channel', async () => {
    const probe = await ChannelReader.open(server.port, 'parts');
    const positions = probe.succeeded.positions!;
    probe.reader.client.close();
    const resume = [
      { partition: 2, epoch: 'gone', offset: 0 },
      { partition: 1, epoch: positions[1].epoch, offset: positions[1].offset },
    ];
    const { reader, data } = await failed('parts', resume);
    assert.deepEqual(data, { reason: 'epoch_changed', offset: positions[2].offset, epoch: positions[2].epoch, partition: 2 });
    // Partition 1 resumed (nothing missed): after a live event, still only the one failure.
    await publish(server.port, 'parts', 1);
    await until(() => reader.frames('e').length === 1);
    assert.deepEqual(reader.frames('broadcasty:resume_failed'), []);
    reader.client.close();
  });

  it('says epoch_changed after the LocalEngine server restarted', async () => {
    const first = await startHistoryServer(RULES);
    await publish(first.port, 'orders', 3);
    const probe = await ChannelReader.open(first.port, 'orders');
    const old = probe.succeeded;
    probe.reader.client.close();
    await first.shutdown();
    const restarted = await startHistoryServer(RULES);
    try {
      const { reader, succeeded } = await ChannelReader.open(restarted.port, 'orders', { epoch: old.epoch, offset: old.offset });
      const frame = await reader.client.next((f) => f.event === 'broadcasty:resume_failed');
      assert.notEqual(succeeded.epoch, old.epoch);
      assert.deepEqual(JSON.parse(frame.data as string), { reason: 'epoch_changed', offset: 0, epoch: succeeded.epoch });
      await publish(restarted.port, 'orders', 1);
      await until(() => reader.offsets().length === 1);
      assert.deepEqual(reader.offsets(), [1]);
      reader.client.close();
    } finally {
      await restarted.shutdown();
    }
  });
});

describe('bad resume data', () => {
  let server: RunningServer;
  before(async () => {
    server = await startHistoryServer(RULES);
  });
  after(() => server.shutdown());

  const cases: [string, string, unknown, string][] = [
    ['a string', 'orders', 'x', 'data.resume must be an object or an array, got string'],
    ['an epoch of the wrong type', 'orders', { epoch: 5, offset: 1 }, 'data.resume.epoch must be a string, got number'],
    ['a missing offset', 'orders', { epoch: 'e' }, 'data.resume.offset is required (number)'],
    ['a negative offset', 'orders', { epoch: 'e', offset: -1 }, 'data.resume.offset must be at least 0'],
    ['a fractional offset', 'orders', { epoch: 'e', offset: 1.5 }, 'data.resume.offset must be an integer, got float'],
    ['a huge offset', 'orders', { epoch: 'e', offset: 1e300 }, 'data.resume.offset must be at most 9007199254740991'],
    ['an offset as a string', 'orders', { epoch: 'e', offset: '4' }, 'data.resume.offset must be a number, got string'],
    ['an empty epoch', 'orders', { epoch: '', offset: 1 }, 'data.resume.epoch must be a non-empty string'],
    ['an epoch too long', 'orders', { epoch: 'x'.repeat(65), offset: 1 }, 'data.resume.epoch must be at most 64 characters long'],
    ['an entry without partition', 'parts', [{ epoch: 'e', offset: 1 }], 'data.resume.0.partition is required (number)'],
    ['a partition the channel lacks', 'parts', [{ partition: 4, epoch: 'e', offset: 1 }], "data.resume.0.partition must be less than 4, the channel's partitions"],
    [
      'a partition twice',
      'parts',
      [
        { partition: 1, epoch: 'e', offset: 1 },
        { partition: 1, epoch: 'e', offset: 2 },
      ],
      'data.resume.1.partition repeats partition 1',
    ],
    ['too many entries', 'parts', Array.from({ length: 65 }, (_, p) => ({ partition: p, epoch: 'e', offset: 0 })), 'data.resume must have at most 64 entries'],
  ];
  for (const [what, channel, resume, message] of cases) {
    it(`refuses ${what} with a pusher:error naming the field; the socket stays`, async () => {
      const { client, socketId } = await ChannelReader.connect(server.port);
      assert.ok(socketId);
      client.send({ event: 'pusher:subscribe', data: { channel, resume } });
      const error = await client.next((f) => f.event === 'pusher:error');
      assert.deepEqual(error.data, { code: null, message: `Invalid subscribe message: ${message}` });
      client.send({ event: 'pusher:ping', data: {} });
      await client.next((f) => f.event === 'pusher:pong');
      // Not subscribed: the same channel can be subscribed now.
      client.send({ event: 'pusher:subscribe', data: { channel } });
      await client.next((f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === channel);
      client.close();
    });
  }

  it('accepts resume as a JSON string inside string data, as pusher-js never sends but clients may', async () => {
    const client = await RawClient.connect(server.port);
    await client.established();
    client.send({ event: 'pusher:subscribe', data: JSON.stringify({ channel: 'orders', resume: { epoch: 'zz', offset: 0 } }) });
    const frame = await client.next((f) => f.event === 'broadcasty:resume_failed');
    assert.equal((JSON.parse(frame.data as string) as { reason: string }).reason, 'epoch_changed');
    client.close();
  });
});
