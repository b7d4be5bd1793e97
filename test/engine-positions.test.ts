// Stream positions on history channels (docs/PROTOCOL.md §13.2), as both engines deliver and
// report them: offsets 1..N per stream, the position fields spliced into the frame byte for byte
// (the Redis twin is Lua), nothing sequenced or stored without a stream target, and a new epoch
// whenever continuity is lost — a new process, Redis losing its data, an expired stream, a
// publish on this node alone while Redis is out of reach.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { LocalStreams, STREAM_IDLE_MS } from '../src/engine/streams.js';
import { positionFields, UNSEQUENCED } from '../src/engine/types.js';
import { until } from './support/cluster.js';
import { APP_ID, describeEngines, LONG, publication, target } from './support/engines.js';

describeEngines('stream positions', (h) => {
  it('a history channel gets offsets 1..N under one epoch, each frame completed with its position', async () => {
    const node = await h.start();
    const positions = [];
    for (let i = 1; i <= 5; i += 1) positions.push(await node.engine.publish(publication('orders', String(i), target())));
    assert.deepEqual(positions.map((p) => p.offset), [1, 2, 3, 4, 5]);
    const { epoch } = positions[0];
    assert.notEqual(epoch, '');
    assert.equal(new Set(positions.map((p) => p.epoch)).size, 1);
    const frames = await h.deliveredOn(node, 'orders', 5);
    assert.deepEqual(
      frames,
      [1, 2, 3, 4, 5].map((i) => `{"event":"e","data":"${i}","channel":"orders","offset":${i},"epoch":"${epoch}"}`),
    );
    assert.deepEqual(JSON.parse(frames[0]), { event: 'e', data: '1', channel: 'orders', offset: 1, epoch });
  });

  it('a partitioned channel has one stream per partition, and its frames name the partition', async () => {
    const node = await h.start();
    const p0 = await node.engine.publish(publication('parts', 'a', target(LONG, 0, true)));
    const p2 = await node.engine.publish(publication('parts', 'b', target(LONG, 2, true)));
    const p2b = await node.engine.publish(publication('parts', 'c', target(LONG, 2, true)));
    assert.deepEqual([p0.offset, p2.offset, p2b.offset], [1, 1, 2]);
    assert.notEqual(p0.epoch, p2.epoch, 'each partition is a stream of its own');
    assert.deepEqual(await h.deliveredOn(node, 'parts', 3), [
      `{"event":"e","data":"a","channel":"parts","offset":1,"epoch":"${p0.epoch}","partition":0}`,
      `{"event":"e","data":"b","channel":"parts","offset":1,"epoch":"${p2.epoch}","partition":2}`,
      `{"event":"e","data":"c","channel":"parts","offset":2,"epoch":"${p2.epoch}","partition":2}`,
    ]);
    const history = await node.engine.readHistory(APP_ID, 'parts', 2, 1, 10, LONG);
    assert.deepEqual(history.entries.map((e) => e.offset), [1, 2]);
  });

  it('the frame is the TypeScript twin positionFields spliced in, for any partition shape', async () => {
    const node = await h.start();
    const stream = target(LONG, 3, true);
    const p = publication('twin', 'x', stream);
    const position = await node.engine.publish(p);
    assert.deepEqual(await h.deliveredOn(node, 'twin', 1), [p.frame + positionFields(position, stream)]);
  });

  it('without a stream target a publish is unsequenced: the frame goes out unchanged and nothing is stored', async () => {
    const node = await h.start();
    const plain = publication('plain', '1');
    assert.deepEqual(await node.engine.publish(plain), UNSEQUENCED);
    assert.deepEqual(await h.deliveredOn(node, 'plain', 1), [plain.frame]);
    const redis = h.redis();
    if (redis !== undefined) {
      assert.deepEqual(await redis.client.keys('*:stream:plain*'), [], 'no stream hash');
      assert.deepEqual(await redis.client.keys('*:history:plain*'), [], 'no history stream');
    }
    const read = await node.engine.readHistory(APP_ID, 'plain', 0, 1, 10, LONG);
    assert.equal(read.position.offset, 0);
    assert.deepEqual(read.entries, []);
  });

  it('a stream lost (LocalEngine restart, Redis FLUSHALL) starts again at offset 1 under a new epoch, its history gone', async () => {
    const node = await h.start();
    await node.engine.publish(publication('lost', '1', target()));
    const before = await node.engine.publish(publication('lost', '2', target()));
    const again = await h.loseStreams(node);
    const after = await again.engine.publish(publication('lost', '3', target()));
    assert.equal(before.offset, 2);
    assert.equal(after.offset, 1);
    assert.notEqual(after.epoch, before.epoch);
    const read = await again.engine.readHistory(APP_ID, 'lost', 0, 1, 10, LONG);
    assert.deepEqual(read.entries.map((e) => e.frame), [`{"event":"e","data":"3","channel":"lost","offset":1,"epoch":"${after.epoch}"}`]);
  });
});

it('LocalStreams: a stream without a publish for the idle expiry starts over under a new epoch', () => {
  const streams = new LocalStreams();
  const t0 = 1_000_000;
  const publish = (now: number) => {
    const stream = streams.open('news', now);
    const position = stream.nextPosition();
    stream.append('{}', now, LONG);
    return position;
  };
  const a = publish(t0);
  const b = publish(t0 + STREAM_IDLE_MS);
  const c = publish(t0 + 2 * STREAM_IDLE_MS + 1);
  assert.deepEqual([a.offset, b.offset, c.offset], [1, 2, 1]);
  assert.equal(b.epoch, a.epoch);
  assert.notEqual(c.epoch, a.epoch);
});

describeEngines(
  'stream positions across nodes and outages',
  (h) => {
    it('two nodes share one stream: strictly increasing offsets under one epoch, history readable from either', async () => {
      const [a, b] = await Promise.all([h.start(), h.start()]);
      const positions = [];
      for (let i = 1; i <= 6; i += 1) {
        const node = i % 2 === 0 ? a : b;
        if (i === 3) await node.engine.addSubscription(APP_ID, 'shared', 's1');
        if (i === 4) await node.engine.removeSubscription(APP_ID, 'shared', 's1');
        positions.push(await node.engine.publish(publication('shared', String(i), target())));
      }
      assert.deepEqual(positions.map((p) => p.offset), [1, 2, 3, 4, 5, 6]);
      assert.equal(new Set(positions.map((p) => p.epoch)).size, 1);
      const onA = await h.deliveredOn(a, 'shared', 6);
      assert.deepEqual(await h.deliveredOn(b, 'shared', 6), onA, 'both nodes deliver the same frames in the same order');
      const fromB = await b.engine.readHistory(APP_ID, 'shared', 0, 1, 10, LONG);
      assert.deepEqual(fromB.entries.map((e) => e.frame), onA);
      assert.deepEqual(fromB.position, positions[5]);
    });

    it('outagePublish "queue": a publish while Redis is out of reach gets this node\'s own epoch, a new one per outage', async () => {
      const redis = h.redis()!;
      const node = await h.start({ outagePublish: 'queue' });
      const durable = (i: number) => ({ ...publication('outage', String(i), target()), durable: true });
      const linked = await node.engine.publish(durable(1));
      const outage = async () => {
        await redis.server.stop();
        await until(() => node.engine.health() === 'degraded', 5000, 'engine degraded');
        const position = await node.engine.publish(durable(2));
        await redis.server.restart();
        await until(() => node.engine.health() === 'ok', 10000, 'engine back');
        return position;
      };
      const first = await outage();
      const second = await outage();
      for (const local of [first, second]) {
        assert.equal(local.offset, 1);
        assert.notEqual(local.epoch, linked.epoch);
      }
      assert.notEqual(second.epoch, first.epoch);
      const back = await node.engine.publish(durable(3));
      assert.notEqual(back.epoch, first.epoch);
      assert.notEqual(back.epoch, second.epoch);
    });
  },
  ['RedisEngine'],
);
