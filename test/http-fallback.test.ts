// pusher-js's HTTP fallbacks on the wire (docs/PROTOCOL.md §7.2): raw xhr_streaming / xhr
// sessions over Node's http against an in-process server, next to WebSocket clients and the
// `pusher` SDK. What is asserted is what pusher-js would read: the lines `o`, `a[…]`, `h`,
// `c[…]`, the Pusher frames inside, and the status and body of every request.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningServer } from '../src/server.js';
import { rawSubscriber, sdk, until } from './support/cluster.js';
import { startTestServer } from './support/in-process.js';
import { newSessionPath, post, XhrSession } from './support/xhr-session.js';

/** Small timings so heartbeats, held polls and session timeouts happen within a test, and shutdowns do not wait. */
const TIMING = { httpHeartbeatSeconds: 1, pollTimeoutSeconds: 1, httpSessionTimeoutSeconds: 2, shutdownGraceMs: 0 };

async function subscribe(session: XhrSession, channel: string, socketId: string, userId?: string) {
  const signer = sdk(session.port);
  const presence = userId === undefined ? undefined : { user_id: userId };
  const auth = channel.startsWith('private-') || channel.startsWith('presence-') ? signer.authorizeChannel(socketId, channel, presence) : {};
  assert.equal((await session.send({ event: 'pusher:subscribe', data: { channel, ...auth } })).status, 204);
  return session.next((f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === channel);
}

async function opened(port: number, transport: 'xhr_streaming' | 'xhr'): Promise<{ session: XhrSession; socketId: string }> {
  const session = new XhrSession(port, transport).start();
  return { session, socketId: await session.established() };
}

const closesWith = async (server: RunningServer, code: number) =>
  (await server.ctx.metrics.registry.metrics()).includes(`broadcasty_connections_closed_total{app_id="app-id",code="${code}"}`);

// `auto` is native uWS where a build loads (Node 20, 22), else Node http: both code paths on Node 20.
for (const transport of ['auto', 'node'] as const) {
  describe(`pusher-js HTTP fallbacks on the ${transport} transport`, () => {
    let server: RunningServer;
    before(async () => (server = await startTestServer({ transport, ...TIMING })));
    after(() => server.shutdown());

    it('xhr_streaming: 200 with the §7.2 headers, `o` once, then connection_established in a[…]', async () => {
      const { session, socketId } = await opened(server.port, 'xhr_streaming');
      const res = await session.answered;
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], 'application/javascript; charset=UTF-8');
      assert.equal(res.headers['cache-control'], 'no-store, no-cache, must-revalidate, max-age=0');
      assert.equal(res.headers['x-accel-buffering'], 'no');
      assert.equal(session.lines[0], 'o');
      assert.match(socketId, /^\d+\.\d+$/);
      await until(() => session.lines.includes('h'), 3000, 'a heartbeat on the idle stream');
      assert.deepEqual(session.lines.filter((l) => l.startsWith('o')), ['o']);
      session.stop();
    });

    it('public, private and presence channels: SDK events arrive, a WebSocket member sees the session join', async () => {
      const { session, socketId } = await opened(server.port, 'xhr_streaming');
      const watcher = await rawSubscriber(server.port, ['presence-room'], 'ws-user');
      await subscribe(session, 'news', socketId);
      await subscribe(session, 'private-orders', socketId);
      const members = await subscribe(session, 'presence-room', socketId, 'xhr-user');
      assert.deepEqual((JSON.parse(members.data as string) as { presence: { ids: string[] } }).presence.ids.sort(), ['ws-user', 'xhr-user']);
      const added = await watcher.next((f) => f.event === 'pusher_internal:member_added');
      assert.equal((JSON.parse(added.data as string) as { user_id: string }).user_id, 'xhr-user');

      await sdk(server.port).trigger(['news', 'private-orders'], 'created', { id: 7 });
      const news = await session.next((f) => f.channel === 'news' && f.event === 'created');
      await session.next((f) => f.channel === 'private-orders' && f.event === 'created');
      assert.equal(session.text(news), '{"event":"created","data":"{\\"id\\":7}","channel":"news"}');
      session.stop();
      watcher.close();
    });

    it('client events: xhr_send reaches a WebSocket client, its answer reaches the session', async () => {
      const { session, socketId } = await opened(server.port, 'xhr_streaming');
      const peer = await rawSubscriber(server.port, ['private-chat']);
      await subscribe(session, 'private-chat', socketId);
      await session.send({ event: 'client-typing', channel: 'private-chat', data: { from: 'xhr' } });
      const typed = await peer.next((f) => f.event === 'client-typing');
      assert.deepEqual(JSON.parse(typed.data as string), { from: 'xhr' });
      peer.send({ event: 'client-typing', channel: 'private-chat', data: { from: 'ws' } });
      const back = await session.next((f) => f.event === 'client-typing');
      assert.deepEqual(JSON.parse(back.data as string), { from: 'ws' });
      session.stop();
      peer.close();
    });

    it('pusher:ping through xhr_send is answered with pusher:pong on the stream', async () => {
      const { session } = await opened(server.port, 'xhr_streaming');
      await session.send({ event: 'pusher:ping', data: {} });
      await session.next((f) => f.event === 'pusher:pong');
      session.stop();
    });

    it('xhr polling: `o` alone, the held poll answered by an event, `h` at pollTimeoutSeconds', async () => {
      const session = new XhrSession(server.port, 'xhr');
      session.start();
      const first = await session.answered;
      assert.equal(first.statusCode, 200);
      assert.equal(first.headers['content-type'], 'application/javascript; charset=UTF-8');
      const socketId = await session.established();
      assert.deepEqual(session.lines.slice(0, 2).map((l) => l.slice(0, 1)), ['o', 'a']);
      await subscribe(session, 'polled', socketId);
      await until(() => session.lines.at(-1) === 'h', 4000, 'a held poll ended with h');
      await sdk(server.port).trigger('polled', 'tick', { n: 1 });
      const tick = await session.next((f) => f.event === 'tick');
      assert.deepEqual(JSON.parse(tick.data as string), { n: 1 });
      assert.deepEqual(session.lines.filter((l) => l.startsWith('o')), ['o']);
      session.stop();
    });
  });
}

describe('pusher-js HTTP fallbacks: closes, timeouts and bad input', () => {
  let server: RunningServer;
  before(async () => (server = await startTestServer(TIMING)));
  after(() => server.shutdown());
  const base = (session = newSessionPath()) => `/pusher/app/app-key/${session}`;

  it('terminate_connections: pusher:error 4009 then c[4009,…] ends the stream', async () => {
    const { session, socketId } = await opened(server.port, 'xhr_streaming');
    const signer = sdk(server.port);
    await session.send({ event: 'pusher:signin', data: signer.authenticateUser(socketId, { id: 'bob' }) });
    await session.next((f) => f.event === 'pusher:signin_success');
    await signer.terminateUserConnections('bob');
    const error = await session.next((f) => f.event === 'pusher:error');
    assert.equal((error.data as { code: number }).code, 4009);
    assert.equal((await session.closed).code, 4009);
    assert.match(session.lines.at(-1)!, /^c\[4009,"/);
    assert.equal((await session.send({ event: 'pusher:ping', data: {} })).status, 404);
  });

  it('a session nobody receives from closes after httpSessionTimeoutSeconds: presence members see it leave', async () => {
    const watcher = await rawSubscriber(server.port, ['presence-lobby'], 'ws-user');
    const { session, socketId } = await opened(server.port, 'xhr');
    await subscribe(session, 'presence-lobby', socketId, 'leaver');
    await watcher.next((f) => f.event === 'pusher_internal:member_added');
    session.stop();
    const removed = await watcher.next((f) => f.event === 'pusher_internal:member_removed', 6000);
    assert.equal((JSON.parse(removed.data as string) as { user_id: string }).user_id, 'leaver');
    assert.equal((await session.send({ event: 'pusher:ping', data: {} })).body, 'Session not found');
    assert.ok(await closesWith(server, 1006));
    watcher.close();
  });

  it('xhr_send: 400 for a body that is not a JSON array of strings, 404 for an unknown session, 413 past maxRequestBytes', async () => {
    const { session } = await opened(server.port, 'xhr_streaming');
    for (const [body, why] of [['{nope', 'it is not JSON'], ['{"event":"pusher:ping"}', 'it is not an array'], ['["{}", 3]', 'item 1 is not a string']]) {
      const answer = await session.sendRaw(body!);
      assert.equal(answer.status, 400);
      assert.equal(answer.body, `Body must be a JSON array of strings (each one Pusher message); ${why}`);
    }
    const unknown = await post(server.port, `${base()}/xhr_send`, '[]');
    assert.deepEqual([unknown.status, unknown.body], [404, 'Session not found']);
    const huge = await session.sendRaw(JSON.stringify(['x'.repeat(1024 * 1024)]));
    assert.equal(huge.status, 413);
    // The session is unharmed by all of it.
    await session.send({ event: 'pusher:ping', data: {} });
    await session.next((f) => f.event === 'pusher:pong');
    session.stop();
  });

  it('a message that is not a Pusher frame gets the in-band pusher:error, as on a WebSocket', async () => {
    const { session } = await opened(server.port, 'xhr_streaming');
    assert.equal((await session.send('not json')).status, 204);
    const error = await session.next((f) => f.event === 'pusher:error');
    assert.equal((error.data as { code: number | null }).code, null);
    session.stop();
  });

  it('the same session id from another address gets c[2010,…] and its sends 404; the session keeps working', async () => {
    const { session, socketId } = await opened(server.port, 'xhr_streaming');
    await subscribe(session, 'shared', socketId);
    const intruder = await post(server.port, `${session.base}/xhr_streaming?protocol=7`, '', '127.0.0.2');
    assert.deepEqual([intruder.status, intruder.body], [200, 'c[2010,"Another connection still open"]\n']);
    const injected = await post(server.port, `${session.base}/xhr_send`, JSON.stringify([JSON.stringify({ event: 'pusher:unsubscribe', data: { channel: 'shared' } })]), '127.0.0.2');
    assert.deepEqual([injected.status, injected.body], [404, 'Session not found']);
    await sdk(server.port).trigger('shared', 'still-here', {});
    await session.next((f) => f.event === 'still-here');
    session.stop();
  });

  it('a second receive from the same address replaces the first: frames go to it, no second `o`', async () => {
    const first = new XhrSession(server.port, 'xhr_streaming').start();
    const socketId = await first.established();
    await subscribe(first, 'moved', socketId);
    const second = new XhrSession(server.port, 'xhr_streaming', { session: first.session }).start();
    // The server ends the replaced response once the second one is attached.
    await until(() => first.ended, 3000, 'the first response ended');
    await sdk(server.port).trigger('moved', 'here', {});
    await second.next((f) => f.event === 'here');
    assert.equal(second.lines.filter((l) => l.startsWith('o')).length, 0);
    first.stop();
    second.stop();
  });

  it('any method but POST on the fallback paths: 405', async () => {
    const answer = await post(server.port, `${base()}/xhr_streaming`, undefined, undefined, 'GET');
    assert.equal(answer.status, 405);
  });

  it('a refused handshake (unknown app key) answers o, pusher:error 4001 and c[4001,…]', async () => {
    const session = new XhrSession(server.port, 'xhr_streaming', { key: 'no-such-key' }).start();
    const error = await session.next((f) => f.event === 'pusher:error');
    assert.equal((error.data as { code: number }).code, 4001);
    assert.equal((await session.closed).code, 4001);
    assert.equal(session.lines[0], 'o');
  });
});

describe('pusher-js HTTP fallbacks: the server closes the connection', () => {
  const quick = { id: 'app-id', key: 'app-key', secret: 'app-secret', activityTimeout: 1, pongTimeout: 1 };
  let server: RunningServer;
  before(async () => (server = await startTestServer({ ...TIMING, apps: [quick] })));
  after(() => server.shutdown());

  it('pusher:ping unanswered: pusher:error 4201 then c[4201,…]; answered through xhr_send: the session stays', async () => {
    const [{ session: silent }, { session: answering }] = await Promise.all([opened(server.port, 'xhr_streaming'), opened(server.port, 'xhr_streaming')]);
    await answering.next((f) => f.event === 'pusher:ping', 4000);
    await answering.send({ event: 'pusher:pong', data: {} });
    await silent.next((f) => f.event === 'pusher:ping', 4000);
    const error = await silent.next((f) => f.event === 'pusher:error', 4000);
    assert.equal((error.data as { code: number }).code, 4201);
    assert.equal((await silent.closed).code, 4201);
    // Pinged again instead of closed: the pong counted.
    await answering.next((f) => f.event === 'pusher:ping', 4000);
    assert.equal(answering.lines.some((l) => l.startsWith('c')), false);
    answering.stop();
  });

  it('shutdown: pusher:error 4200 then c[4200,…] on a stream', async () => {
    const stopping = await startTestServer(TIMING);
    const { session } = await opened(stopping.port, 'xhr_streaming');
    await stopping.shutdown();
    const error = await session.next((f) => f.event === 'pusher:error');
    assert.equal((error.data as { code: number }).code, 4200);
    assert.equal((await session.closed).code, 4200);
  });
});

describe('pusher-js HTTP fallbacks: per-IP cap and slow consumers', () => {
  it('past maxHttpSessionsPerIp the next session gets 429 with Retry-After; another address still opens (`o` names httpSessionHost)', async () => {
    const server = await startTestServer({ ...TIMING, maxHttpSessionsPerIp: 2, httpSessionHost: 'localhost' });
    try {
      const held = [await opened(server.port, 'xhr'), await opened(server.port, 'xhr')];
      const refused = await post(server.port, `/pusher/app/app-key/${newSessionPath()}/xhr?protocol=7`);
      assert.equal(refused.status, 429);
      assert.equal(refused.headers['retry-after'], '1');
      assert.match(refused.body, /Too many HTTP sessions from 127\.0\.0\.1: at most 2/);
      const elsewhere = await post(server.port, `/pusher/app/app-key/${newSessionPath()}/xhr?protocol=7`, '', '127.0.0.2');
      assert.deepEqual([elsewhere.status, elsewhere.body], [200, 'o{"hostname":"localhost"}\n']);
      for (const { session } of held) session.stop();
    } finally {
      await server.shutdown();
    }
  });

  it('an xhr_streaming client that never reads is closed as a slow consumer; the server and other clients carry on', async () => {
    const big = { id: 'app-id', key: 'app-key', secret: 'app-secret', maxEventPayloadKb: 512 };
    const server = await startTestServer({ ...TIMING, apps: [big], maxStreamBufferBytes: 64 * 1024, maxBackpressureBytes: 256 * 1024 });
    try {
      const { session, socketId } = await opened(server.port, 'xhr_streaming');
      await subscribe(session, 'firehose', socketId);
      const reader = await rawSubscriber(server.port, ['firehose']);
      session.pause();
      const payload = 'x'.repeat(400 * 1024);
      const signer = sdk(server.port);
      let published = 0;
      // Loopback socket buffers take megabytes before the server sees any backlog.
      while (server.sessions.size > 0 && published < 200) {
        await signer.trigger('firehose', 'blob', { payload, n: published++ });
      }
      assert.equal(server.sessions.size, 0, `the session was closed after ${published} events of 400 KB`);
      assert.ok(await closesWith(server, 4100));
      await signer.trigger('firehose', 'after', {});
      await reader.next((f) => f.event === 'after', 10_000);
      session.stop();
      reader.close();
    } finally {
      await server.shutdown();
    }
  });
});
