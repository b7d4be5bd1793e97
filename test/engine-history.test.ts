// History streams and idempotency keys as both engines keep them (docs/PROTOCOL.md §13.1, §13.5,
// §13.6): retention by count, bytes and age (oldest first), paged reads with `first`, a read that
// creates the stream so a subscriber's baseline epoch holds, and idempotency keys claimed,
// pending, done and released — cluster-wide with Redis.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Retention } from '../src/engine/types.js';
import { APP_ID, describeEngines, LONG, publication, target } from './support/engines.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const retention = (overrides: Partial<Retention>): Retention => ({ ...LONG, ...overrides });

describeEngines('history', (h) => {
  it('keeps the last maxEvents events, oldest dropped first, each the frame subscribers got', async () => {
    const node = await h.start();
    const stream = target(retention({ maxEvents: 3 }));
    for (let i = 1; i <= 5; i += 1) await node.engine.publish(publication('count', String(i), stream));
    const read = await node.engine.readHistory(APP_ID, 'count', 0, 1, 100, stream.retention);
    assert.equal(read.first, 3);
    assert.equal(read.position.offset, 5);
    const delivered = await h.deliveredOn(node, 'count', 5);
    assert.deepEqual(read.entries, [3, 4, 5].map((offset) => ({ offset, frame: delivered[offset - 1] })));
  });

  it('keeps at most maxBytes of frames, counted in UTF-8 bytes', async () => {
    const node = await h.start();
    // Two bytes per character: counting characters instead of bytes would keep one frame more.
    const data = (i: number) => 'é'.repeat(40) + i;
    const position = await node.engine.publish(publication('bytes', data(0), target()));
    const [frame] = await h.deliveredOn(node, 'bytes', 1);
    const size = Buffer.byteLength(frame);
    // Every frame of this channel has the same size (one-digit data and offsets): room for two and a half.
    const stream = target(retention({ maxBytes: Math.floor(size * 2.5) }));
    for (let i = 1; i <= 4; i += 1) await node.engine.publish(publication('bytes', data(i), stream));
    const read = await node.engine.readHistory(APP_ID, 'bytes', 0, 1, 100, stream.retention);
    assert.deepEqual(read.entries.map((e) => e.offset), [4, 5]);
    assert.equal(read.first, 4);
    assert.equal(read.position.epoch, position.epoch);
    const tooSmall = target(retention({ maxBytes: size - 1 }));
    await node.engine.publish(publication('bytes', data(6), tooSmall));
    const empty = await node.engine.readHistory(APP_ID, 'bytes', 0, 1, 100, LONG);
    assert.deepEqual(empty.entries, [], 'a frame larger than maxBytes is not kept');
    assert.equal(empty.first, 7, 'first is offset + 1 when nothing is stored');
  });

  it('drops events older than maxAgeMs, on the next publish and on a read', async () => {
    const node = await h.start();
    const short = target(retention({ maxAgeMs: 100 }));
    await node.engine.publish(publication('age', '1', short));
    await node.engine.publish(publication('age', '2', short));
    await sleep(200);
    await node.engine.publish(publication('age', '3', short));
    // Read with a long maxAge: what is missing was dropped by the publish.
    const afterPublish = await node.engine.readHistory(APP_ID, 'age', 0, 1, 100, LONG);
    assert.deepEqual(afterPublish.entries.map((e) => e.offset), [3]);
    assert.equal(afterPublish.first, 3);
    await sleep(200);
    const read = await node.engine.readHistory(APP_ID, 'age', 0, 1, 100, retention({ maxAgeMs: 100 }));
    assert.deepEqual(read.entries, []);
    assert.equal(read.first, 4);
    assert.equal(read.position.offset, 3);
  });

  it('reads page by page from any offset, oldest first; `first` is the oldest stored', async () => {
    const node = await h.start();
    for (let i = 1; i <= 10; i += 1) await node.engine.publish(publication('pages', String(i), target()));
    const page = async (from: number, limit: number) => (await node.engine.readHistory(APP_ID, 'pages', 0, from, limit, LONG)).entries.map((e) => e.offset);
    assert.deepEqual(await page(1, 4), [1, 2, 3, 4]);
    assert.deepEqual(await page(5, 4), [5, 6, 7, 8]);
    assert.deepEqual(await page(9, 4), [9, 10]);
    assert.deepEqual(await page(11, 4), []);
    const read = await node.engine.readHistory(APP_ID, 'pages', 0, 1, 1, LONG);
    assert.equal(read.first, 1);
    assert.equal(read.position.offset, 10);
    await node.engine.publish(publication('pages', '11', target(retention({ maxEvents: 5 }))));
    assert.deepEqual(await page(1, 100), [7, 8, 9, 10, 11], 'a read from before `first` starts at `first`');
    assert.equal((await node.engine.readHistory(APP_ID, 'pages', 0, 1, 1, LONG)).first, 7);
  });

  it('a read creates a missing stream: offset 0 of an epoch the first publish keeps', async () => {
    const node = await h.start();
    const read = await node.engine.readHistory(APP_ID, 'fresh', 0, 1, 100, LONG);
    assert.equal(read.position.offset, 0);
    assert.notEqual(read.position.epoch, '');
    assert.equal(read.first, 1);
    assert.deepEqual(read.entries, []);
    assert.deepEqual(await node.engine.readHistory(APP_ID, 'fresh', 0, 1, 100, LONG), read, 'a second read finds the same stream');
    const published = await node.engine.publish(publication('fresh', '1', target()));
    assert.deepEqual(published, { offset: 1, epoch: read.position.epoch });
  });

  it('idempotency keys: claimed, pending while publishing, done with the answer, claimable again once released or expired', async () => {
    const node = await h.start();
    const { engine } = node;
    assert.deepEqual(await engine.claimIdempotencyKey(APP_ID, 'job-1', 60_000), { status: 'claimed' });
    assert.deepEqual(await engine.claimIdempotencyKey(APP_ID, 'job-1', 60_000), { status: 'pending' });
    assert.deepEqual(await engine.claimIdempotencyKey('other-app', 'job-1', 60_000), { status: 'claimed' }, 'keys are per app');
    await engine.completeIdempotencyKey(APP_ID, 'job-1', '{"positions":{}}', 60_000);
    assert.deepEqual(await engine.claimIdempotencyKey(APP_ID, 'job-1', 60_000), { status: 'done', answer: '{"positions":{}}' });
    assert.deepEqual(await engine.claimIdempotencyKey(APP_ID, 'job-2', 60_000), { status: 'claimed' });
    await engine.releaseIdempotencyKey(APP_ID, 'job-2');
    assert.deepEqual(await engine.claimIdempotencyKey(APP_ID, 'job-2', 60_000), { status: 'claimed' }, 'a failed publish leaves no trace');
    await engine.claimIdempotencyKey(APP_ID, 'job-3', 50);
    await sleep(150);
    assert.deepEqual(await engine.claimIdempotencyKey(APP_ID, 'job-3', 60_000), { status: 'claimed' }, 'an expired claim is gone');
    await engine.completeIdempotencyKey(APP_ID, 'job-4', 'late', 60_000);
    assert.deepEqual(await engine.claimIdempotencyKey(APP_ID, 'job-4', 60_000), { status: 'claimed' }, 'completing a key nobody holds stores nothing');
  });
});

describeEngines(
  'history across nodes',
  (h) => {
    it('history written on one node is read on the other; a FLUSHALL gives every node the new epoch', async () => {
      const [a, b] = await Promise.all([h.start(), h.start()]);
      const baseline = await b.engine.readHistory(APP_ID, 'orders', 0, 1, 100, LONG);
      const first = await a.engine.publish(publication('orders', '1', target()));
      assert.deepEqual(first, { offset: 1, epoch: baseline.position.epoch }, 'the stream a read on B created is the one A publishes to');
      await b.engine.publish(publication('orders', '2', target()));
      const fromA = await a.engine.readHistory(APP_ID, 'orders', 0, 1, 100, LONG);
      assert.deepEqual(fromA.entries.map((e) => e.frame), await h.deliveredOn(b, 'orders', 2));
      await h.redis()!.client.flushall();
      const after = await b.engine.readHistory(APP_ID, 'orders', 0, 1, 100, LONG);
      assert.notEqual(after.position.epoch, first.epoch);
      assert.equal(after.position.offset, 0);
      assert.deepEqual(after.entries, []);
      assert.deepEqual(await a.engine.publish(publication('orders', '3', target())), { offset: 1, epoch: after.position.epoch });
    });

    it('an idempotency key is one truth across nodes', async () => {
      const [a, b] = await Promise.all([h.start(), h.start()]);
      assert.deepEqual(await a.engine.claimIdempotencyKey(APP_ID, 'shared-job', 60_000), { status: 'claimed' });
      assert.deepEqual(await b.engine.claimIdempotencyKey(APP_ID, 'shared-job', 60_000), { status: 'pending' });
      await a.engine.completeIdempotencyKey(APP_ID, 'shared-job', 'answer', 60_000);
      assert.deepEqual(await b.engine.claimIdempotencyKey(APP_ID, 'shared-job', 60_000), { status: 'done', answer: 'answer' });
      await b.engine.claimIdempotencyKey(APP_ID, 'failed-job', 60_000);
      await b.engine.releaseIdempotencyKey(APP_ID, 'failed-job');
      assert.deepEqual(await a.engine.claimIdempotencyKey(APP_ID, 'failed-job', 60_000), { status: 'claimed' });
    });

    it('a stream hash left by the version that sequenced every channel (no bytes, old entries) starts a new epoch', async () => {
      const node = await h.start();
      const { client } = h.redis()!;
      await client.hset('{broadcasty}:app:app-id:stream:upgraded', 'offset', 5, 'epoch', '1700000000000000');
      await client.xadd('{broadcasty}:app:app-id:history:upgraded', '5-0', 'frame', '{"event":"old"}');
      const position = await node.engine.publish(publication('upgraded', '1', target()));
      assert.equal(position.offset, 1);
      assert.notEqual(position.epoch, '1700000000000000');
      const read = await node.engine.readHistory(APP_ID, 'upgraded', 0, 1, 100, LONG);
      assert.deepEqual(read.entries, [{ offset: 1, frame: `{"event":"e","data":"1","channel":"upgraded","offset":1,"epoch":"${position.epoch}"}` }]);
    });

    it('keys live under the deployment prefix: stream hash, history stream and idempotency key', async () => {
      const node = await h.start();
      const { client } = h.redis()!;
      await client.flushall();
      await node.engine.publish(publication('layout', '1', target(LONG, 1, true)));
      await node.engine.claimIdempotencyKey(APP_ID, 'k', 60_000);
      const keys = (await client.keys('{broadcasty}:app:app-id:*')).filter((k) => !k.endsWith(':log') && !k.endsWith(':connections')).sort();
      assert.deepEqual(keys, ['{broadcasty}:app:app-id:history:layout#1', '{broadcasty}:app:app-id:idem:k', '{broadcasty}:app:app-id:stream:layout#1']);
      assert.ok((await client.ttl('{broadcasty}:app:app-id:history:layout#1')) > 0, 'history expires with its stream');
    });
  },
  ['RedisEngine'],
);
