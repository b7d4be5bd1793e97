// The admin API's live tap (docs/PROTOCOL.md §17.2) on one node: SSE framing and heartbeats, every
// activity kind a console shows, the kinds/channel/event filters, the 10 KB cap on publish data,
// app scoping, the feed going quiet again once the last tap closed, and taps ended at shutdown.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningServer } from '../src/server.js';
import { TapStream, adminRequest } from './support/admin.js';
import { APP, rawSubscriber, triggerRaw, until } from './support/cluster.js';
import { RawClient, startTestServer } from './support/in-process.js';
import { scratchDir } from './support/scratch.js';

const ADMIN = 'admin-token-0123456789';
const SCOPED = 'scoped-token-0123456789';
const OTHER = { id: 'other-id', key: 'other-key', secret: 'other-secret' };

describe('admin tap', () => {
  let server: RunningServer;
  let port: number;
  const taps: TapStream[] = [];
  const sockets: RawClient[] = [];

  const tap = async (query: string, appId = APP.id, token = ADMIN) => {
    const stream = await TapStream.open(port, appId, query, token);
    taps.push(stream);
    return stream;
  };

  before(async () => {
    server = await startTestServer({ apps: [{ ...APP, maxEventPayloadKb: 20 }, OTHER], adminToken: ADMIN, adminTokens: [{ token: SCOPED, apps: [OTHER.id] }], httpHeartbeatSeconds: 1 });
    port = server.port;
  });
  after(async () => {
    for (const t of taps) t.close();
    for (const s of sockets) s.close();
    await server.shutdown();
  });

  it('with nobody tapping, the feed wants nothing', () => {
    assert.ok(Object.values(server.ctx.activity.wants).every((wanted) => !wanted), JSON.stringify(server.ctx.activity.wants));
  });

  it('streams SSE with retry and heartbeats, and sends subscribe, publish, member_added, member_removed, unsubscribe with the node', async () => {
    const stream = await tap('');
    assert.match(stream.headers.get('content-type')!, /^text\/event-stream/);
    assert.equal(stream.headers.get('cache-control'), 'no-cache');
    const ws = await rawSubscriber(port, ['news']);
    sockets.push(ws);
    const subscribed = await stream.next((e) => e.event === 'subscribe' && e.data.channel === 'news');
    assert.equal(subscribed.data.kind, 'subscribe');
    assert.equal(subscribed.data.appId, APP.id);
    assert.equal(typeof subscribed.data.socketId, 'string');
    assert.equal(typeof subscribed.data.node, 'string');
    assert.equal(typeof subscribed.data.at, 'number');

    await triggerRaw(port, 'news', 'breaking', { n: 1 });
    const published = await stream.next((e) => e.event === 'publish');
    assert.deepEqual(
      { channel: published.data.channel, event: published.data.event, data: published.data.data, source: published.data.source, actor: published.data.actor },
      { channel: 'news', event: 'breaking', data: '{"n":1}', source: 'http', actor: 'app' },
    );

    const alice = await rawSubscriber(port, ['presence-room'], 'alice');
    const added = await stream.next((e) => e.event === 'member_added');
    assert.deepEqual([added.data.channel, added.data.userId], ['presence-room', 'alice']);
    alice.close();
    const removed = await stream.next((e) => e.event === 'member_removed');
    assert.deepEqual([removed.data.channel, removed.data.userId], ['presence-room', 'alice']);
    await stream.next((e) => e.event === 'unsubscribe' && e.data.channel === 'presence-room');

    ws.send({ event: 'pusher:unsubscribe', data: { channel: 'news' } });
    await stream.next((e) => e.event === 'unsubscribe' && e.data.channel === 'news');
    await until(() => stream.raw.includes(': heartbeat\n\n'), 15_000, 'a heartbeat');
    assert.ok(stream.raw.startsWith('retry: 2000\n\n'));
    stream.close();
  });

  it('filters by kinds, by channel prefix and by exact event name', async () => {
    const orders = await tap('kinds=publish&channel=orders.*&event=created');
    const everything = await tap('kinds=publish');
    await triggerRaw(port, 'news', 'created', {});
    await triggerRaw(port, 'orders.7', 'updated', {});
    await triggerRaw(port, 'orders.7', 'created', { id: 7 });
    await everything.next((e) => e.data.channel === 'orders.7' && e.data.event === 'created');
    await orders.next((e) => e.event === 'publish');
    assert.deepEqual(
      orders.events.map((e) => [e.data.channel, e.data.event]),
      [['orders.7', 'created']],
    );
    assert.ok(everything.events.every((e) => e.event === 'publish'));
    assert.equal(everything.events.length, 3);
    orders.close();
    everything.close();
  });

  it('caps publish data at 10 KB and marks it truncated, alike for every tap', async () => {
    const stream = await tap('kinds=publish');
    const filtered = await tap('kinds=publish&event=big');
    await triggerRaw(port, 'news', 'big', 'x'.repeat(12 * 1024));
    const big = await stream.next((e) => e.data.event === 'big');
    assert.equal(big.data.data.length, 10 * 1024);
    assert.equal(big.data.truncated, true);
    assert.equal(big.data.bytes, 12 * 1024 + 2);
    assert.deepEqual((await filtered.next((e) => e.data.event === 'big')).data, big.data);
    stream.close();
    filtered.close();
  });

  it('shows a scoped token its own app only, and app-less auth failures to the server-wide token only', async () => {
    const scoped = await tap('', OTHER.id, SCOPED);
    const wide = await tap('kinds=auth_failure,publish');
    await triggerRaw(port, 'news', 'mine', {});
    await triggerRaw(port, 'news', 'theirs', {}, OTHER);
    server.ctx.activity.emit({ kind: 'auth_failure', surface: 'connect', reason: 'Unknown app key' });
    await wide.next((e) => e.event === 'auth_failure');
    await scoped.next((e) => e.data.event === 'theirs');
    await wide.next((e) => e.data.event === 'mine');
    assert.deepEqual(scoped.events.map((e) => e.event), ['publish']);
    assert.ok(!wide.events.some((e) => e.data.event === 'theirs'));
    scoped.close();
    wide.close();
  });

  it('refuses an unknown kind with 400', async () => {
    const answer = await adminRequest(port, '/admin/apps/app-id/tap?kinds=publish,nope', { token: ADMIN });
    assert.equal(answer.status, 400);
    assert.match(answer.body.error, /Unknown kind "nope"/);
  });

  it('the feed wants nothing again once the last tap closed', async () => {
    const stream = await tap('kinds=publish');
    assert.equal(server.ctx.activity.wants.publish, true);
    stream.close();
    await until(() => Object.values(server.ctx.activity.wants).every((wanted) => !wanted), 15_000, 'the sink removed');
  });
});

describe('admin tap at shutdown', () => {
  it('ends a tap still open when the server shuts down, and no activity reaches the stopped audit log', async () => {
    const file = join(scratchDir('admin-tap-shutdown'), 'audit.log');
    const server = await startTestServer({ apps: [APP], adminToken: ADMIN, audit: { sink: 'file', file, flushMs: 50 } });
    const stream = await TapStream.open(server.port, APP.id, '', ADMIN);
    await triggerRaw(server.port, 'news', 'before', {});
    await stream.next((e) => e.data.event === 'before');
    await server.shutdown();
    await until(() => stream.endedByServer, 15_000, 'the tap ended by the server');
    // Neither the tap's sink nor the stopped audit log's is left on the feed.
    assert.ok(Object.values(server.ctx.activity.wants).every((wanted) => !wanted), JSON.stringify(server.ctx.activity.wants));
  });
});
