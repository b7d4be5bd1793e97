// GET /broadcasty/sse as a script or a browser meets it (docs/PROTOCOL.md §15.1, §15.2): the
// stream's headers and first bytes, events carrying the exact WebSocket frame, cursor ids on
// history streams and Last-Event-ID resume across a disconnect, JWT private and presence channels
// (a WebSocket member and an SSE member see each other come and go), heartbeats, server-side
// closes, every refusal of §15.1's table, the per-IP cap, and a client that never reads.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type PusherServer from 'pusher';
import type { RunningServer } from '../src/server.js';
import { APP, sdk, until } from './support/cluster.js';
import { RawClient, startTestServer } from './support/in-process.js';
import { subscribeRaw } from './support/jwt-clients.js';
import { JWT_APP, jwtApp, mintToken } from './support/jwt.js';
import { isRefused, openStream, SseStream, type Query, type SseEvent } from './support/sse-client.js';

const HISTORY = 'history.orders';
const PARTS = 'parts.orders';
const NEWS = 'tenant.acme.news';
const CHAT = 'private-tenant.acme.chat';
const ROOM = 'presence-tenant.acme.room';
const DISABLED = { id: 'off-id', key: 'off-key', secret: 'off-secret', enabled: false };
const ORIGINS = { id: 'origin-id', key: 'origin-key', secret: 'origin-secret', allowedOrigins: ['https://app.example'] };

const SUCCEEDED = 'pusher_internal:subscription_succeeded';
const epochOf = (event: SseEvent) => event.frame.epoch as string;

describe('/broadcasty/sse', () => {
  let server: RunningServer;
  let port: number;
  const open: SseStream[] = [];
  const sockets: RawClient[] = [];

  const stream = async (query: Query, headers: Record<string, string> = {}) => {
    const s = await openStream(port, query, headers);
    open.push(s);
    return s;
  };
  const refused = async (query: Query, headers: Record<string, string> = {}) => {
    const answer = await SseStream.open(port, query, headers);
    if (!isRefused(answer)) throw new Error('the stream was not refused');
    return { status: answer.status, error: answer.body.error, channel: answer.body.channel };
  };
  const member = (sub: string) => mintToken({ sub, roles: ['member'] });

  before(async () => {
    const apps = [{ ...APP, history: [{ channels: ['history.*'] }, { channels: ['parts.*'], partitions: 2 }] }, jwtApp({ history: [{ channels: [NEWS] }] }), DISABLED, ORIGINS];
    server = await startTestServer({ apps, httpHeartbeatSeconds: 1 });
    port = server.port;
  });
  after(async () => {
    for (const s of open) s.close();
    for (const socket of sockets) socket.close();
    await server.shutdown();
  });

  it('public events arrive as SSE events named after the event, with the WebSocket frame as data and no id', async () => {
    const ws = await RawClient.connect(port);
    sockets.push(ws);
    await ws.established();
    await subscribeRaw(ws, 'news');
    const s = await stream({ app: APP.key, channel: 'news' });
    assert.equal(s.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    assert.equal(s.headers.get('cache-control'), 'no-cache');
    assert.equal(s.headers.get('x-accel-buffering'), 'no');
    const succeeded = await s.named(SUCCEEDED, 'news');
    assert.equal(succeeded.data, '{"event":"pusher_internal:subscription_succeeded","data":"{}","channel":"news"}');
    assert.ok(s.raw.startsWith('retry: 2000\n\nevent: pusher_internal:subscription_succeeded\n'), s.raw);

    await sdk(port).trigger('news', 'story.published', { title: 'line one\nline two' });
    const event = await s.named('story.published');
    const frame = await ws.next((f) => f.event === 'story.published');
    assert.equal(event.data, ws.text(frame), 'data is the frame a WebSocket gets, byte for byte');
    assert.equal(event.id, undefined, 'no history channel: no id');
    assert.ok(!s.raw.includes('connection_established'), 'connection_established is not delivered');
  });

  it('a stream with a history channel puts the resume cursor in every id; Last-Event-ID resumes without a gap', async () => {
    const s = await stream({ app: APP.key, channel: [HISTORY, 'news'] });
    const succeeded = await s.named(SUCCEEDED, HISTORY);
    const epoch = epochOf(succeeded);
    assert.equal(succeeded.id, `${HISTORY}:0:${encodeURIComponent(epoch)}:${succeeded.frame.offset as number}`);
    const start = succeeded.frame.offset as number;
    for (const i of [1, 2]) await sdk(port).trigger(HISTORY, 'placed', { i });
    await sdk(port).trigger('news', 'story', {});
    const placed = [await s.named('placed'), await s.named('placed')];
    assert.deepEqual(
      placed.map((e) => e.id),
      [1, 2].map((i) => `${HISTORY}:0:${encodeURIComponent(epoch)}:${start + i}`),
    );
    assert.equal((await s.named('story')).id, placed[1].id, 'an event of another channel carries the cursor as it stands');
    s.close();

    for (const i of [3, 4, 5]) await sdk(port).trigger(HISTORY, 'placed', { i });
    const resumed = await stream({ app: APP.key, channel: [HISTORY, 'news'] }, { 'Last-Event-ID': placed[1].id! });
    const replayed = [await resumed.named('placed'), await resumed.named('placed'), await resumed.named('placed')];
    assert.deepEqual(
      replayed.map((e) => (JSON.parse(e.frame.data as string) as { i: number }).i),
      [3, 4, 5],
    );
    await sdk(port).trigger(HISTORY, 'placed', { i: 6 });
    const live = await resumed.named('placed');
    assert.equal(live.id, `${HISTORY}:0:${encodeURIComponent(epoch)}:${start + 6}`);
    assert.deepEqual(resumed.events.filter((e) => e.event === 'placed'), [], 'no duplicate');

    const byQuery = await stream({ app: APP.key, channel: HISTORY, lastEventId: live.id! });
    await byQuery.named(SUCCEEDED);
    await sdk(port).trigger(HISTORY, 'placed', { i: 7 });
    assert.equal((JSON.parse((await byQuery.named('placed')).frame.data as string) as { i: number }).i, 7, 'lastEventId in the query resumes too');

    const lost = await stream({ app: APP.key, channel: HISTORY }, { 'Last-Event-ID': `${HISTORY}:0:gone-epoch:3` });
    const failed = await lost.named('broadcasty:resume_failed');
    assert.equal((JSON.parse(failed.frame.data as string) as { reason: string }).reason, 'epoch_changed');
    assert.equal(failed.id, `${HISTORY}:0:${encodeURIComponent(epoch)}:${start + 7}`, 'the cursor moves to where the stream stands');
  });

  it('a partitioned history channel has one cursor entry per partition, and resumes each', async () => {
    const entry = (p: { partition?: number; epoch: string; offset: number }) => `${PARTS}:${p.partition ?? 0}:${encodeURIComponent(p.epoch)}:${p.offset}`;
    const publish = (i: number) => sdk(port).trigger(PARTS, 'placed', { i }, { partition_key: `key-${i}` } as PusherServer.TriggerParams);
    const s = await stream({ app: APP.key, channel: PARTS });
    const succeeded = await s.named(SUCCEEDED);
    const positions = succeeded.frame.positions as { partition: number; epoch: string; offset: number }[];
    assert.equal(succeeded.id, positions.map(entry).join(','));
    for (const i of [1, 2, 3]) await publish(i);
    let last: SseEvent | undefined;
    for (let n = 0; n < 3; n++) {
      last = await s.named('placed');
      const frame = last.frame as unknown as { partition: number; epoch: string; offset: number };
      assert.ok(last.id!.split(',').includes(entry(frame)), `${last.id} names ${entry(frame)}`);
    }
    s.close();
    for (const i of [4, 5, 6, 7]) await publish(i);
    const resumed = await stream({ app: APP.key, channel: PARTS }, { 'Last-Event-ID': last!.id! });
    const replayed = await Promise.all([0, 1, 2, 3].map(() => resumed.named('placed')));
    assert.deepEqual(replayed.map((e) => (JSON.parse(e.frame.data as string) as { i: number }).i).sort(), [4, 5, 6, 7]);
    assert.deepEqual(resumed.events.filter((e) => e.event === 'broadcasty:resume_failed'), []);
  });

  it('private and presence channels take a JWT in the header or the query; SSE and WebSocket members see each other come and go', async () => {
    const userOf = (data: unknown) => (JSON.parse(data as string) as { user_id: string }).user_id;
    const s = await stream({ app: JWT_APP.key, channel: [CHAT, ROOM, NEWS] }, { Authorization: `Bearer ${await member('sse-user')}` });
    const roster = JSON.parse((await s.named(SUCCEEDED, ROOM)).frame.data as string) as { presence: { ids: string[] } };
    assert.deepEqual(roster.presence.ids, ['sse-user']);
    assert.ok(s.raw.includes('event: pusher:signin_success\n'), 'the token signed the session in');

    const ws = await RawClient.connect(port, JWT_APP.key);
    sockets.push(ws);
    await ws.established();
    const joined = await subscribeRaw(ws, ROOM, await member('ws-user'));
    assert.deepEqual((JSON.parse(joined.data as string) as { presence: { ids: string[] } }).presence.ids.sort(), ['sse-user', 'ws-user']);
    assert.equal(userOf((await s.named('pusher_internal:member_added')).frame.data), 'ws-user');

    await subscribeRaw(ws, CHAT, await member('ws-user'));
    await sdk(port, JWT_APP).trigger(CHAT, 'said', { text: 'hi' });
    assert.equal((await s.named('said', CHAT)).data, ws.text(await ws.next((f) => f.event === 'said')));

    const second = await stream({ app: JWT_APP.key, channel: ROOM, token: await member('query-user') });
    await second.named(SUCCEEDED, ROOM);
    assert.equal(userOf((await ws.next((f) => f.event === 'pusher_internal:member_added')).data), 'query-user');
    second.close();
    assert.equal(userOf((await ws.next((f) => f.event === 'pusher_internal:member_removed')).data), 'query-user', 'the stream ended: its member left');
    assert.deepEqual([userOf((await s.named('pusher_internal:member_added')).frame.data), userOf((await s.named('pusher_internal:member_removed')).frame.data)], ['query-user', 'query-user']);

    ws.close();
    assert.equal(userOf((await s.named('pusher_internal:member_removed')).frame.data), 'ws-user');
    s.close();
  });

  it('an idle stream gets a heartbeat comment every httpHeartbeatSeconds', async () => {
    const s = await stream({ app: APP.key, channel: 'quiet' });
    await s.named(SUCCEEDED);
    await until(() => s.comments >= 1, 5000, 'a heartbeat');
    assert.match(s.raw, /\n\n: heartbeat\n\n/);
  });

  it('the token signs the session in: sendToUser reaches it, terminate_connections sends pusher:error and ends the stream', async () => {
    const s = await stream({ app: JWT_APP.key, channel: NEWS, token: await member('leaving') });
    await s.named(SUCCEEDED);
    await sdk(port, JWT_APP).sendToUser('acme.leaving', 'notice', { n: 1 });
    assert.equal((await s.named('notice')).frame.channel, '#server-to-user-acme.leaving');
    await sdk(port, JWT_APP).terminateUserConnections('acme.leaving');
    const error = await s.named('pusher:error');
    assert.deepEqual(error.frame.data, { code: 4009, message: 'You got disconnected by the app.' });
    await s.ended;
  });

  it('refuses bad requests with the status of §15.1 and a JSON error naming the channel', async () => {
    const sessionsBefore = server.sessions.size;
    const hmacPrivate = await refused({ app: APP.key, channel: ['news', 'private-x'] });
    assert.equal(hmacPrivate.status, 401);
    assert.equal(hmacPrivate.channel, 'private-x');
    const cases: [Query, Record<string, string>, number, string | undefined][] = [
      [{ app: APP.key }, {}, 400, undefined],
      [{ app: APP.key, channel: 'bad name!' }, {}, 400, 'bad name!'],
      [{ app: APP.key, channel: 'private-encrypted-vault' }, {}, 400, 'private-encrypted-vault'],
      [{ app: APP.key, channel: '#server-to-user-1' }, {}, 400, '#server-to-user-1'],
      [{ app: APP.key, channel: Array.from({ length: 101 }, (_, i) => `c${i}`) }, {}, 400, undefined],
      [{ app: APP.key, channel: HISTORY }, { 'Last-Event-ID': 'history.orders:0:epoch' }, 400, undefined],
      [{ app: APP.key, channel: HISTORY }, { 'Last-Event-ID': `${HISTORY}:3:e:1` }, 400, HISTORY],
      [{ app: JWT_APP.key, channel: CHAT }, {}, 401, CHAT],
      [{ app: JWT_APP.key, channel: CHAT, token: 'not.a.token' }, {}, 401, undefined],
      [{ app: JWT_APP.key, channel: 'private-tenant.other.chat', token: await member('u') }, {}, 403, 'private-tenant.other.chat'],
      [{ app: JWT_APP.key, channel: CHAT, token: await mintToken({ sub: 'guest', roles: ['guest'] }) }, {}, 403, CHAT],
      [{ app: 'nope', channel: 'news' }, {}, 404, undefined],
      [{ app: DISABLED.key, channel: 'news' }, {}, 403, undefined],
      [{ app: ORIGINS.key, channel: 'news' }, { Origin: 'https://evil.example' }, 403, undefined],
    ];
    for (const [query, headers, status, channel] of cases) {
      const answer = await refused(query, headers);
      assert.equal(answer.status, status, JSON.stringify({ query, answer }));
      assert.equal(answer.channel, channel, JSON.stringify(answer));
      assert.equal(typeof answer.error, 'string');
    }
    const badToken = await refused({ app: JWT_APP.key, channel: NEWS, token: await mintToken({}, { expiresIn: -600 }) });
    assert.deepEqual([badToken.status, badToken.error], [401, 'Invalid token: token expired']);
    assert.equal(server.sessions.size, sessionsBefore, 'no refused session stays in the table');
  });

  it('after shutdown, the stream gets pusher:error 4200 and ends', async () => {
    const own = await startTestServer({ apps: [APP] });
    const s = await openStream(own.port, { app: APP.key, channel: 'news' });
    await s.named(SUCCEEDED);
    await own.shutdown();
    assert.deepEqual((await s.named('pusher:error')).frame.data, { code: 4200, message: 'Server is shutting down, reconnect immediately' });
    await s.ended;
  });
});

describe('/broadcasty/sse limits', () => {
  let server: RunningServer;
  before(async () => {
    const apps = [{ ...APP, maxEventPayloadKb: 100 }];
    server = await startTestServer({ apps, maxHttpSessionsPerIp: 2, maxStreamBufferBytes: 64 * 1024, maxBackpressureBytes: 64 * 1024 });
  });
  after(() => server.shutdown());

  it('answers 429 with Retry-After past maxHttpSessionsPerIp, and admits again once a stream ended', async () => {
    const streams = [await openStream(server.port, { app: APP.key, channel: 'a' }), await openStream(server.port, { app: APP.key, channel: 'b' })];
    const third = await SseStream.open(server.port, { app: APP.key, channel: 'c' });
    assert.ok(isRefused(third));
    assert.equal(third.status, 429);
    assert.equal(third.headers.get('retry-after'), '1');
    streams[0].close();
    await until(() => server.sessions.size === 1, 3000, 'the closed stream left the table');
    const again = await openStream(server.port, { app: APP.key, channel: 'c' });
    await again.named(SUCCEEDED);
    again.close();
    streams[1].close();
    await until(() => server.sessions.size === 0, 3000, 'every stream left the table');
  });

  it('a client that never reads is cut and its session closed; the server keeps serving', async () => {
    const socket = connect(server.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`GET /broadcasty/sse?app=${APP.key}&channel=flood HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    await until(() => server.sessions.size === 1 && server.ctx.hub.connections.size === 1, 3000, 'the stream opened');
    socket.pause();
    // Far more than the kernel's socket buffers take (a few MB on loopback) and the 64 KiB limits.
    const payload = 'x'.repeat(64 * 1024);
    const publisher = sdk(server.port);
    for (let i = 0; i < 400 && server.sessions.size !== 0; i++) await publisher.trigger('flood', 'big', { i, payload });
    await until(() => server.sessions.size === 0 && server.ctx.hub.connections.size === 0, 5000, 'the session closed and dropped');
    socket.destroy();
    const after = await openStream(server.port, { app: APP.key, channel: 'flood' });
    await after.named(SUCCEEDED);
    await publisher.trigger('flood', 'small', {});
    await after.named('small');
    after.close();
  });
});
