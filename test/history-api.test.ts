// The history extension's HTTP side as publishers see it (docs/PROTOCOL.md §13.4–§13.6): publish
// answers with positions (and byte-identical answers without history), idempotency keys, and the
// signed history endpoint — on one in-process server (LocalEngine) and on two nodes sharing a
// real redis-server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signRequest } from '../protocol/index.js';
import { partitionOf } from '../src/history/rules.js';
import type { RunningServer } from '../src/server.js';
import { rawSubscriber, sleep, startNodes, until, type Node } from './support/cluster.js';
import { RawClient, startTestServer, type Frame } from './support/in-process.js';
import { RedisServer } from './support/redis.js';

const APP = { id: 'app-id', key: 'app-key', secret: 'app-secret' };
const OTHER = { id: 'other-id', key: 'other-key', secret: 'other-secret' };
const PARTITIONS = 4;
const HISTORY = [
  { channels: ['orders', 'private-orders.*', 'presence-room'] },
  { channels: ['short'], maxEvents: 5 },
  { channels: ['feed'], partitions: PARTITIONS },
];
const APPS = [
  { ...APP, history: HISTORY },
  { ...OTHER, history: HISTORY },
];

interface Reply {
  status: number;
  body: string;
  contentType: string | null;
}

interface Call {
  query?: Record<string, string>;
  body?: unknown;
  headers?: Record<string, string>;
  app?: typeof APP;
  /** false: no auth_* parameters at all. */
  signed?: boolean;
}

async function call(port: number, method: 'GET' | 'POST', path: string, { query = {}, body, headers = {}, app = APP, signed = true }: Call = {}): Promise<Reply> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const search = signed ? signRequest({ method, path, key: app.key, secret: app.secret, body: text, query }) : new URLSearchParams(query).toString();
  const response = await fetch(`http://127.0.0.1:${port}${path}?${search}`, { method, body: text, headers: { 'content-type': 'application/json', ...headers } });
  return { status: response.status, body: await response.text(), contentType: response.headers.get('content-type') };
}

const publish = (port: number, body: unknown, headers?: Record<string, string>, app = APP) => call(port, 'POST', `/apps/${app.id}/events`, { body, headers, app });
const publishBatch = (port: number, body: unknown, headers?: Record<string, string>) => call(port, 'POST', `/apps/${APP.id}/batch_events`, { body, headers });
const readHistory = (port: number, channel: string, query: Record<string, string> = {}, options: Call = {}) =>
  call(port, 'GET', `/apps/${APP.id}/channels/${encodeURIComponent(channel)}/history`, { query, ...options });

const event = (channel: string, n: number, extra: Record<string, unknown> = {}) => ({ name: 'numbered', channel, data: JSON.stringify({ n }), ...extra });

interface Position {
  offset: number;
  epoch: string;
  partition?: number;
}

interface Page {
  channel: string;
  partition: number;
  epoch: string;
  offset: number;
  first: number;
  events: { offset: number; event: string; data: string; user_id?: string }[];
  next: number | null;
}

async function page(port: number, channel: string, query: Record<string, string> = {}): Promise<Page> {
  const reply = await readHistory(port, channel, query);
  assert.equal(reply.status, 200, reply.body);
  return JSON.parse(reply.body) as Page;
}

/** The `n` of every `numbered` event the client received on the channel, in arrival order. */
const numbersAt = (client: RawClient, channel: string) =>
  client.frames.filter((f) => f.channel === channel && f.event === 'numbered').map((f) => (JSON.parse(f.data as string) as { n: number }).n);

/** Publishes a marker without a key and waits for it: every delivery of what came before is in. */
async function settled(port: number, client: RawClient, channel: string, app = APP): Promise<void> {
  assert.equal((await publish(port, { name: 'marker', channel, data: '{}' }, {}, app)).status, 200);
  await client.next((f: Frame) => f.channel === channel && f.event === 'marker', 5000);
}

/** A frame's position fields, read from the exact text it arrived as. */
const framePosition = (client: RawClient, frame: Frame): Position => {
  const { offset, epoch, partition } = JSON.parse(client.text(frame)) as Position;
  return partition === undefined ? { offset, epoch } : { offset, epoch, partition };
};

describe('history: publish answers and idempotency keys (LocalEngine)', () => {
  let server: RunningServer;
  let port: number;
  const clients: RawClient[] = [];
  const subscriber = async (channels: string[], app = APP) => {
    const client = await rawSubscriber(port, channels, undefined, app);
    clients.push(client);
    return client;
  };

  before(async () => {
    server = await startTestServer({ apps: APPS });
    port = server.port;
  });

  after(async () => {
    for (const client of clients) client.close();
    await server.shutdown();
  });

  it('answers byte for byte as before on channels without history, with or without an idempotency key', async () => {
    assert.deepEqual(await publish(port, event('news', 1)), { status: 200, body: '{}', contentType: 'application/json' });
    assert.equal((await publish(port, { ...event('news', 2), info: 'subscription_count' })).body, '{"channels":{"news":{"subscription_count":0}}}');
    assert.equal((await publishBatch(port, { batch: [event('news', 3), event('other-news', 4)] })).body, '{}');
    assert.equal((await publish(port, event('news', 5), { 'Idempotency-Key': 'plain-1' })).body, '{}');
    assert.equal((await publish(port, event('news', 5), { 'Idempotency-Key': 'plain-1' })).body, '{}');
  });

  it('answers the positions a publish got on its history channels: the ones its subscribers saw', async () => {
    const client = await subscriber(['orders']);
    const first = await publish(port, { name: 'numbered', channels: ['orders', 'news'], data: '{"n":1}' });
    assert.equal(first.status, 200);
    const { positions } = JSON.parse(first.body) as { positions: Record<string, Position> };
    assert.deepEqual(Object.keys(positions), ['orders'], 'only the history channel has a position');
    const frame = await client.next((f) => f.event === 'numbered');
    assert.deepEqual(framePosition(client, frame), positions.orders);

    const second = JSON.parse((await publish(port, { ...event('orders', 2), info: 'subscription_count' })).body) as { channels: unknown; positions: Record<string, Position> };
    assert.deepEqual(second.channels, { orders: { subscription_count: 1 } }, 'info attributes sit beside positions');
    assert.deepEqual(second.positions.orders, { offset: positions.orders.offset + 1, epoch: positions.orders.epoch });

    const batch = JSON.parse((await publishBatch(port, { batch: [event('orders', 3), event('news', 4), event('orders', 5)] })).body) as { positions: Record<string, Position>[] };
    assert.deepEqual(batch.positions[1], {}, 'one object per item, empty for an item without history');
    const batchOffsets = [batch.positions[0].orders.offset, batch.positions[2].orders.offset].sort((a, b) => a - b);
    assert.deepEqual(batchOffsets, [positions.orders.offset + 2, positions.orders.offset + 3]);
  });

  it('puts each partition_key on its own partition, numbered from 1, and names the partition in the answer', async () => {
    const spec = { partitions: PARTITIONS, retention: { maxEvents: 100, maxAgeMs: 3_600_000, maxBytes: 1 << 20 } };
    const keys = ['customer-1', 'customer-2', 'customer-3', 'customer-4', 'customer-5'];
    const [a, b] = [keys[0], keys.find((k) => partitionOf(spec, k) !== partitionOf(spec, keys[0]))!];
    const answers: Position[] = [];
    for (const key of [a, a, b]) {
      const reply = await publish(port, event('feed', answers.length, { partition_key: key }));
      answers.push((JSON.parse(reply.body) as { positions: Record<string, Position> }).positions.feed);
    }
    assert.deepEqual(
      answers.map((p) => [p.partition, p.offset]),
      [
        [partitionOf(spec, a), 1],
        [partitionOf(spec, a), 2],
        [partitionOf(spec, b), 1],
      ],
    );
    const unkeyed = JSON.parse((await publish(port, event('feed', 9))).body) as { positions: Record<string, Position> };
    assert.equal(unkeyed.positions.feed.partition, 0, 'no partition_key: partition 0');
    for (const bad of [7, '', 'k'.repeat(201), ['k']]) {
      const reply = await publish(port, event('feed', 10, { partition_key: bad }));
      assert.deepEqual([reply.status, reply.body], [400, 'Invalid "partition_key": expected a string of 1 to 200 characters']);
    }
  });

  it('publishes once per idempotency key: a repeat answers 200 with the first body and delivers nothing (header or body field)', async () => {
    const client = await subscriber(['orders']);
    const viaHeader = await publish(port, event('orders', 1), { 'Idempotency-Key': 'job-1' });
    assert.equal(viaHeader.status, 200);
    assert.match(viaHeader.body, /^\{"positions":\{"orders":\{"offset":\d+,"epoch":"[^"]+"\}\}\}$/);
    const repeatByHeader = await publish(port, event('orders', 1), { 'Idempotency-Key': 'job-1' });
    const repeatByField = await publish(port, event('orders', 1, { idempotency_key: 'job-1' }));
    const repeatByBoth = await publish(port, event('orders', 1, { idempotency_key: 'job-1' }), { 'Idempotency-Key': 'job-1' });
    for (const repeat of [repeatByHeader, repeatByField, repeatByBoth]) assert.deepEqual(repeat, viaHeader);

    const viaField = await publish(port, event('orders', 2, { idempotency_key: 'job-2' }));
    assert.deepEqual(await publish(port, event('orders', 2), { 'Idempotency-Key': 'job-2' }), viaField);
    assert.notEqual(viaField.body, viaHeader.body);
    await settled(port, client, 'orders');
    assert.deepEqual(numbersAt(client, 'orders'), [1, 2]);
  });

  it('an idempotency key covers a whole batch', async () => {
    const client = await subscriber(['orders']);
    const body = { batch: [event('orders', 1), event('news', 2), event('orders', 3)], idempotency_key: 'batch-1' };
    const first = await publishBatch(port, body);
    assert.equal(first.status, 200);
    assert.deepEqual(await publishBatch(port, body), first);
    assert.deepEqual(await publishBatch(port, { batch: body.batch }, { 'Idempotency-Key': 'batch-1' }), first);
    await settled(port, client, 'orders');
    assert.deepEqual(numbersAt(client, 'orders').sort(), [1, 3]);
  });

  it('keeps keys per app', async () => {
    const ours = await subscriber(['orders']);
    const theirs = await subscriber(['orders'], OTHER);
    assert.equal((await publish(port, event('orders', 1), { 'Idempotency-Key': 'shared' })).status, 200);
    assert.equal((await publish(port, event('orders', 2), { 'Idempotency-Key': 'shared' }, OTHER)).status, 200);
    await settled(port, ours, 'orders');
    await settled(port, theirs, 'orders', OTHER);
    assert.deepEqual(numbersAt(ours, 'orders'), [1]);
    assert.deepEqual(numbersAt(theirs, 'orders'), [2]);
  });

  it('refuses a bad or conflicting key with 400 and a reason, delivers nothing and remembers nothing', async () => {
    const client = await subscriber(['orders']);
    assert.equal((await publish(port, event('orders', 1), { 'Idempotency-Key': 'a' })).status, 200);
    const refusals: [Reply, string][] = [
      [await publish(port, event('orders', 1, { idempotency_key: 'b' }), { 'Idempotency-Key': 'a' }), 'The Idempotency-Key header and "idempotency_key" differ: send one, or the same key in both'],
      [await publish(port, event('orders', 1), { 'Idempotency-Key': 'k'.repeat(201) }), 'Invalid Idempotency-Key header: expected 1 to 200 characters, got 201'],
      [await publish(port, event('orders', 1, { idempotency_key: 42 })), 'Invalid "idempotency_key": expected a string of 1 to 200 characters, got number'],
      [await publish(port, event('orders', 1, { idempotency_key: '' })), 'Invalid "idempotency_key": expected a string of 1 to 200 characters, got 0 characters'],
      [await publish(port, event('orders', 1, { idempotency_key: null })), 'Invalid "idempotency_key": expected a string of 1 to 200 characters, got null'],
      [await publishBatch(port, { batch: [event('orders', 1)], idempotency_key: ['x'] }), 'Invalid "idempotency_key": expected a string of 1 to 200 characters, got object'],
    ];
    for (const [reply, message] of refusals) assert.deepEqual([reply.status, reply.body], [400, message]);
    // An invalid event with a key is refused before the key is claimed: the valid retry publishes.
    assert.equal((await publish(port, { ...event('orders', 2), data: null }, { 'Idempotency-Key': 'fixed-later' })).status, 400);
    assert.equal((await publish(port, event('orders', 2), { 'Idempotency-Key': 'fixed-later' })).status, 200);
    await settled(port, client, 'orders');
    assert.deepEqual(numbersAt(client, 'orders'), [1, 2], 'the first valid request with key "a", then the fixed retry');
  });

  it('delivers once when requests with one key race: the others answer the first body or 409', async () => {
    const client = await subscriber(['orders']);
    const replies = await Promise.all(Array.from({ length: 8 }, () => publish(port, event('orders', 1), { 'Idempotency-Key': 'race' })));
    const ok = replies.filter((r) => r.status === 200);
    assert.ok(ok.length >= 1, JSON.stringify(replies));
    for (const reply of ok) assert.equal(reply.body, ok[0].body);
    for (const reply of replies.filter((r) => r.status !== 200)) {
      assert.deepEqual([reply.status, reply.body], [409, 'A request with this idempotency key is still publishing; retry it once that one answered']);
    }
    await settled(port, client, 'orders');
    assert.deepEqual(numbersAt(client, 'orders'), [1]);
  });
});

describe('history: GET /apps/{id}/channels/{channel}/history (LocalEngine)', () => {
  let server: RunningServer;
  let port: number;

  before(async () => {
    server = await startTestServer({ apps: APPS });
    port = server.port;
  });

  after(() => server.shutdown());

  it('needs the app\'s signature: unsigned or tampered → 401', async () => {
    const unsigned = await readHistory(port, 'orders', {}, { signed: false });
    assert.equal(unsigned.status, 401);
    assert.match(unsigned.body, /^Version required/);
    const path = `/apps/${APP.id}/channels/orders/history`;
    const query = signRequest({ method: 'GET', path, key: APP.key, secret: APP.secret, query: { limit: '5' } }).replace('limit=5', 'limit=6');
    const tampered = await fetch(`http://127.0.0.1:${port}${path}?${query}`);
    assert.equal(tampered.status, 401);
    assert.match(await tampered.text(), /^Invalid signature/);
    const wrongSecret = await readHistory(port, 'orders', {}, { app: { ...APP, secret: 'not-the-secret' } });
    assert.equal(wrongSecret.status, 401);
  });

  it('answers 404 for a channel without history, 400 for a bad channel name or parameter, 405 for POST', async () => {
    assert.deepEqual(await readHistory(port, 'news'), { status: 404, body: 'Channel news keeps no history', contentType: 'text/plain; charset=utf-8' });
    const refusals: [string, Record<string, string>, string][] = [
      ['bad name', {}, 'Invalid channel name bad name: allowed characters are [-a-zA-Z0-9_=@,.;]'],
      ['#reserved', {}, 'Channel names starting with # are reserved: #reserved'],
      ['orders', { from: '0' }, 'Invalid from: got "0"; expected an integer ≥ 1'],
      ['orders', { from: 'abc' }, 'Invalid from: got "abc"; expected an integer ≥ 1'],
      ['orders', { from: '1.5' }, 'Invalid from: got "1.5"; expected an integer ≥ 1'],
      ['orders', { limit: '0' }, 'Invalid limit: got "0"; expected an integer from 1 to 1000'],
      ['orders', { limit: '1001' }, 'Invalid limit: got "1001"; expected an integer from 1 to 1000'],
      ['orders', { partition: '1' }, 'Invalid partition: got "1"; expected an integer from 0 to 0'],
      ['feed', { partition: '-1' }, 'Invalid partition: got "-1"; expected an integer from 0 to 3'],
      ['feed', { partition: '4' }, 'Invalid partition: got "4"; expected an integer from 0 to 3'],
    ];
    for (const [channel, query, message] of refusals) {
      const reply = await readHistory(port, channel, query);
      assert.deepEqual([reply.status, reply.body], [400, message], `${channel} ${JSON.stringify(query)}`);
    }
    const post = await call(port, 'POST', `/apps/${APP.id}/channels/orders/history`, { body: {} });
    assert.equal(post.status, 405);
  });

  it('pages through the stored events oldest first, each with its offset, event and data, `next` until the current offset', async () => {
    const empty = await page(port, 'private-orders.7');
    assert.deepEqual({ ...empty, epoch: typeof empty.epoch }, { channel: 'private-orders.7', partition: 0, epoch: 'string', offset: 0, first: 1, events: [], next: null });
    const answers: Position[] = [];
    for (let n = 1; n <= 25; n++) answers.push((JSON.parse((await publish(port, event('private-orders.7', n))).body) as { positions: Record<string, Position> }).positions['private-orders.7']);

    const pages: Page[] = [await page(port, 'private-orders.7', { limit: '10' })];
    while (pages.at(-1)!.next !== null) pages.push(await page(port, 'private-orders.7', { limit: '10', from: String(pages.at(-1)!.next) }));
    assert.deepEqual(
      pages.map((p) => [p.events.map((e) => e.offset), p.next]),
      [
        [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 11],
        [[11, 12, 13, 14, 15, 16, 17, 18, 19, 20], 21],
        [[21, 22, 23, 24, 25], null],
      ],
    );
    for (const p of pages) assert.deepEqual([p.channel, p.partition, p.epoch, p.offset, p.first], ['private-orders.7', 0, answers[0].epoch, 25, 1]);
    assert.deepEqual(pages[0].events[0], { offset: 1, event: 'numbered', data: '{"n":1}' });
    assert.deepEqual(
      pages.flatMap((p) => p.events.map((e) => e.offset)),
      answers.map((a) => a.offset),
      'the offsets the publish answers named',
    );
    const exact = await page(port, 'private-orders.7', { from: '16', limit: '10' });
    assert.deepEqual([exact.events.map((e) => e.offset), exact.next], [[16, 17, 18, 19, 20, 21, 22, 23, 24, 25], null]);
    const beyond = await page(port, 'private-orders.7', { from: '26' });
    assert.deepEqual([beyond.events, beyond.next, beyond.offset], [[], null, 25]);
    const defaults = await page(port, 'private-orders.7');
    assert.equal(defaults.events.length, 25);
  });

  it('shows what retention left: `first` moves past trimmed events and `from` before it starts there', async () => {
    for (let n = 1; n <= 8; n++) assert.equal((await publish(port, event('short', n))).status, 200);
    const trimmed = await page(port, 'short', { from: '1' });
    assert.deepEqual([trimmed.first, trimmed.offset, trimmed.events.map((e) => e.offset), trimmed.next], [4, 8, [4, 5, 6, 7, 8], null]);
    assert.deepEqual(trimmed.events.map((e) => JSON.parse(e.data) as unknown), [{ n: 4 }, { n: 5 }, { n: 6 }, { n: 7 }, { n: 8 }]);
  });

  it('reads one partition at a time', async () => {
    const spec = { partitions: PARTITIONS, retention: { maxEvents: 100, maxAgeMs: 3_600_000, maxBytes: 1 << 20 } };
    const byPartition = new Map<number, number[]>();
    for (let n = 1; n <= 12; n++) {
      const key = `key-${n % 5}`;
      assert.equal((await publish(port, event('feed', n, { partition_key: key }))).status, 200);
      const partition = partitionOf(spec, key);
      byPartition.set(partition, [...(byPartition.get(partition) ?? []), n]);
    }
    assert.ok(byPartition.size > 1, 'the keys spread over partitions');
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const p = await page(port, 'feed', { partition: String(partition) });
      assert.equal(p.partition, partition);
      assert.deepEqual(
        p.events.map((e) => (JSON.parse(e.data) as { n: number }).n),
        byPartition.get(partition) ?? [],
        `partition ${partition}`,
      );
      assert.deepEqual(
        p.events.map((e) => e.offset),
        (byPartition.get(partition) ?? []).map((_, i) => i + 1),
      );
    }
  });

  it('stores client events of a presence history channel with the sender\'s user_id', async () => {
    const sender = await rawSubscriber(port, ['presence-room'], 'alice');
    const reader = await rawSubscriber(port, ['presence-room'], 'bob');
    try {
      sender.send({ event: 'client-typing', channel: 'presence-room', data: { typing: true } });
      await reader.next((f) => f.event === 'client-typing');
      const p = await page(port, 'presence-room');
      assert.deepEqual(p.events, [{ offset: 1, event: 'client-typing', data: '{"typing":true}', user_id: 'alice' }]);
    } finally {
      sender.close();
      reader.close();
    }
  });
});

describe('history and idempotency across two nodes on one Redis', () => {
  let redis: RedisServer;
  let nodes: Node[];
  const clients: RawClient[] = [];
  const subscriber = async (port: number, channels: string[]) => {
    const client = await rawSubscriber(port, channels);
    clients.push(client);
    return client;
  };
  const readyStatus = async (port: number) => (await fetch(`http://127.0.0.1:${port}/ready`)).status;

  before(async () => {
    redis = await RedisServer.start();
    nodes = await startNodes(2, { redisUrl: redis.url, apps: APPS });
  });

  after(async () => {
    for (const client of clients) client.close();
    await sleep(100);
    await Promise.all(nodes.map((n) => n.stop()));
    await redis.stop();
  });

  it('a key repeated on the other node answers the first body and delivers nothing, on either node', async () => {
    const [a, b] = nodes;
    const onA = await subscriber(a.port, ['orders']);
    const onB = await subscriber(b.port, ['orders']);
    const first = await publish(a.port, event('orders', 1), { 'Idempotency-Key': 'cluster-1' });
    assert.equal(first.status, 200);
    assert.match(first.body, /^\{"positions":\{"orders":\{"offset":\d+,"epoch":"[^"]+"\}\}\}$/);
    assert.deepEqual(await publish(b.port, event('orders', 1, { idempotency_key: 'cluster-1' })), first);
    assert.deepEqual(await publish(a.port, event('orders', 1), { 'Idempotency-Key': 'cluster-1' }), first);
    await settled(a.port, onA, 'orders');
    await settled(a.port, onB, 'orders');
    assert.deepEqual(numbersAt(onA, 'orders'), [1]);
    assert.deepEqual(numbersAt(onB, 'orders'), [1]);
  });

  it('delivers once when both nodes get one key at the same time', async () => {
    const [a, b] = nodes;
    const onB = await subscriber(b.port, ['orders']);
    const replies = await Promise.all(Array.from({ length: 6 }, (_, i) => publish((i % 2 === 0 ? a : b).port, event('orders', 7), { 'Idempotency-Key': 'cluster-race' })));
    const ok = replies.filter((r) => r.status === 200);
    assert.ok(ok.length >= 1, JSON.stringify(replies));
    for (const reply of ok) assert.equal(reply.body, ok[0].body);
    for (const reply of replies.filter((r) => r.status !== 200)) assert.equal(reply.status, 409, reply.body);
    await settled(a.port, onB, 'orders');
    assert.deepEqual(numbersAt(onB, 'orders'), [7]);
  });

  it('serves the history on every node: what node A published, node B pages, with the positions A answered', async () => {
    const [a, b] = nodes;
    const answers: Position[] = [];
    for (let n = 1; n <= 7; n++) answers.push((JSON.parse((await publish(a.port, event('private-orders.9', n))).body) as { positions: Record<string, Position> }).positions['private-orders.9']);
    const first = await page(b.port, 'private-orders.9', { limit: '4' });
    const second = await page(b.port, 'private-orders.9', { limit: '4', from: String(first.next) });
    assert.deepEqual(
      [...first.events, ...second.events].map((e) => [e.offset, JSON.parse(e.data) as unknown]),
      answers.map((p, i) => [p.offset, { n: i + 1 }]),
    );
    assert.deepEqual([first.epoch, first.offset, first.next, second.next], [answers[0].epoch, 7, 5, null]);
    const trimmed = await page(b.port, 'short');
    assert.equal(trimmed.events.length, 0, 'a channel nobody published to is empty');
  });

  it('a publish that failed (503 while Redis is out of reach) leaves no trace of its key: the retry publishes', async () => {
    const [a] = nodes;
    const onA = await subscriber(a.port, ['orders']);
    await redis.stop();
    await until(async () => (await readyStatus(a.port)) === 503, 5000, '/ready 503');
    for (let attempt = 0; attempt < 2; attempt++) {
      const refused = await publish(a.port, event('orders', 3), { 'Idempotency-Key': 'outage-1' });
      assert.equal(refused.status, 503, `attempt ${attempt}: ${refused.body}`);
    }
    await redis.restart();
    await until(async () => (await readyStatus(a.port)) === 200, 10_000, '/ready 200');
    const retried = await publish(a.port, event('orders', 3), { 'Idempotency-Key': 'outage-1' });
    assert.equal(retried.status, 200, retried.body);
    assert.match(retried.body, /^\{"positions":\{"orders":\{"offset":1,"epoch":"[^"]+"\}\}\}$/, 'a new epoch: Redis lost everything');
    await settled(a.port, onA, 'orders');
    assert.deepEqual(numbersAt(onA, 'orders'), [3]);
  });
});
