// The admin API as the console and the CLI use it (docs/PROTOCOL.md §17.1): the token check (401,
// the scoped token's 404 for every other app, loopback without a token, production's 403), the
// figures by transport, channels and presence rosters, history pages, publishing to a pusher-js
// subscriber, terminating a user, and the console's files.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signUser } from '../protocol/index.js';
import { isLoopback } from '../src/admin/access.js';
import { ConsoleFiles } from '../src/admin/console-files.js';
import type { Activity } from '../src/activity/types.js';
import type { RunningServer } from '../src/server.js';
import { adminRequest } from './support/admin.js';
import { buildConsoleFiles } from './support/console.js';
import { APP, Client, rawSubscriber, until } from './support/cluster.js';
import { RawClient, startTestServer } from './support/in-process.js';
import { openStream, type SseStream } from './support/sse-client.js';

const ADMIN = 'admin-token-0123456789';
const SCOPED = 'scoped-token-0123456789';
const OTHER = { id: 'other-id', key: 'other-key', secret: 'other-secret' };
const HISTORY_APP = { ...APP, history: [{ channels: ['history.*'], partitions: 2 }] };

describe('admin API', () => {
  let server: RunningServer;
  let port: number;
  const closers: (() => void)[] = [];

  before(async () => {
    await buildConsoleFiles();
    server = await startTestServer({ apps: [HISTORY_APP, OTHER], adminToken: ADMIN, adminTokens: [{ token: SCOPED, apps: [OTHER.id] }] });
    port = server.port;
  });
  after(async () => {
    for (const close of closers) close();
    await server.shutdown();
  });

  const get = (path: string, token = ADMIN) => adminRequest(port, path, { token });

  it('answers 401 without a token and with a wrong one, and reports both as admin auth_failures', async () => {
    const failures: Activity[] = [];
    const remove = server.ctx.activity.add({ kinds: ['auth_failure'], accept: (a) => failures.push(a) });
    try {
      const missing = await adminRequest(port, '/admin/apps');
      assert.equal(missing.status, 401);
      assert.match(missing.body.error, /admin token/);
      const wrong = await adminRequest(port, '/admin/apps/app-id/stats', { token: 'wrong-token-0123456789' });
      assert.equal(wrong.status, 401);
      assert.deepEqual(
        failures.map((f) => f.kind === 'auth_failure' && [f.surface, f.reason, f.ip]),
        [
          ['admin', 'Missing or invalid admin token (Authorization: Bearer <token>)', '127.0.0.1'],
          ['admin', 'Missing or invalid admin token (Authorization: Bearer <token>)', '127.0.0.1'],
        ],
      );
      assert.ok(!JSON.stringify(failures).includes('wrong-token'), 'the token is not in the activity');
    } finally {
      remove();
    }
  });

  it('whoami names the actor and its apps', async () => {
    assert.deepEqual((await get('/admin/whoami')).body, { actor: 'admin', apps: '*' });
    assert.deepEqual((await get('/admin/whoami', SCOPED)).body, { actor: 'admin:0', apps: [OTHER.id] });
  });

  it('/admin/apps lists every app for the server-wide token and only its own for a scoped one, never a secret', async () => {
    const all = await get('/admin/apps');
    assert.deepEqual(all.body, {
      apps: [
        { id: 'app-id', key: 'app-key', enabled: true, authMode: 'hmac', history: true, push: false },
        { id: 'other-id', key: 'other-key', enabled: true, authMode: 'hmac', history: false, push: false },
      ],
    });
    assert.ok(!all.text.includes('secret'));
    assert.deepEqual((await get('/admin/apps', SCOPED)).body.apps.map((a: { id: string }) => a.id), [OTHER.id]);
  });

  it('a scoped token gets the same 404 for another app as for an app that does not exist, on every endpoint', async () => {
    const paths: [string, string, unknown?][] = [
      ['GET', '/stats'],
      ['GET', '/channels'],
      ['GET', '/channels/news'],
      ['GET', '/channels/history.x/history'],
      ['POST', '/events', { channel: 'news', event: 'e', data: '{}' }],
      ['POST', '/users/u1/terminate', {}],
      ['GET', '/tap'],
    ];
    for (const [method, rest, body] of paths) {
      const other = await adminRequest(port, `/admin/apps/app-id${rest}`, { token: SCOPED, method, body });
      const missing = await adminRequest(port, `/admin/apps/no-such-app${rest}`, { token: ADMIN, method, body });
      assert.equal(other.status, 404, `${method} ${rest}`);
      assert.deepEqual(other.body, { error: 'Unknown app app-id' }, `${method} ${rest}`);
      assert.deepEqual(missing.body, { error: 'Unknown app no-such-app' }, `${method} ${rest}`);
    }
    assert.equal((await get('/admin/apps/other-id/stats', SCOPED)).status, 200);
  });

  it('stats count a WebSocket and an SSE session by transport, on one node', async () => {
    const ws = await RawClient.connect(port);
    await ws.established();
    closers.push(() => ws.close());
    const sse: SseStream = await openStream(port, { app: APP.key, channel: 'news' });
    closers.push(() => sse.close());
    await sse.named('pusher_internal:subscription_succeeded');
    const stats = (await get('/admin/apps/app-id/stats')).body;
    assert.equal(stats.app, 'app-id');
    assert.equal(stats.connections.total, 2);
    assert.deepEqual(stats.connections.byTransport, { ws: 1, sse: 1, poll: 0, xhr_streaming: 0, xhr_polling: 0 });
    assert.equal(stats.nodes.length, 1);
    assert.equal(stats.nodes[0].connections, 2);
    assert.equal(stats.channels, 1);
    assert.equal(typeof stats.messages.perSecond, 'number');
    assert.equal(stats.webhookQueueDepth, 0);
    assert.equal(stats.pushQueueDepth, 0);
    ws.close();
    sse.close();
    await until(async () => (await get('/admin/apps/app-id/stats')).body.connections.total === 0, 15_000, 'connections closed');
  });

  it('lists channels by prefix with kind and presence member counts, and shows one channel with its roster', async () => {
    const alice = await rawSubscriber(port, ['presence-room', 'private-cache-room', 'news'], 'alice');
    closers.push(() => alice.close());
    const list = (await get('/admin/apps/app-id/channels')).body.channels;
    assert.deepEqual(list, [
      { name: 'news', subscribers: 1, kind: 'public', cache: false, history: false },
      { name: 'presence-room', subscribers: 1, kind: 'presence', cache: false, history: false, members: 1 },
      { name: 'private-cache-room', subscribers: 1, kind: 'private', cache: true, history: false },
    ]);
    assert.deepEqual((await get('/admin/apps/app-id/channels?prefix=presence-')).body.channels.map((c: { name: string }) => c.name), ['presence-room']);
    const room = (await get(`/admin/apps/app-id/channels/${encodeURIComponent('presence-room')}`)).body;
    assert.deepEqual(room, { name: 'presence-room', kind: 'presence', cache: false, occupied: true, subscribers: 1, members: [{ id: 'alice', info: null }], history: null });
    const empty = (await get('/admin/apps/app-id/channels/nobody-here')).body;
    assert.deepEqual(empty, { name: 'nobody-here', kind: 'public', cache: false, occupied: false, subscribers: 0, members: null, history: null });
    alice.close();
  });

  it('pages history with positions and epoch, and answers 404 for a channel without history', async () => {
    for (let i = 1; i <= 3; i++) {
      const sent = await adminRequest(port, '/admin/apps/app-id/events', { token: ADMIN, body: { channel: 'history.orders', event: 'placed', data: { n: i } } });
      assert.equal(sent.status, 200);
      assert.ok(sent.body.positions['history.orders'].offset >= 1);
    }
    const detail = (await get('/admin/apps/app-id/channels/history.orders')).body;
    assert.equal(detail.history.partitions, 2);
    const written = detail.history.streams.find((s: { offset: number }) => s.offset === 3);
    assert.ok(written, JSON.stringify(detail.history));
    assert.equal(written.first, 1);
    assert.equal(typeof written.epoch, 'string');
    const first = (await get(`/admin/apps/app-id/channels/history.orders/history?limit=2&partition=${written.partition}`)).body;
    assert.deepEqual(first.events.map((e: { data: string }) => e.data), ['{"n":1}', '{"n":2}']);
    assert.equal(first.next, 3);
    const second = (await get(`/admin/apps/app-id/channels/history.orders/history?from=3&partition=${written.partition}`)).body;
    assert.deepEqual(second.events.map((e: { offset: number }) => e.offset), [3]);
    assert.equal(second.next, null);
    const none = await get('/admin/apps/app-id/channels/news/history');
    assert.equal(none.status, 404);
    assert.deepEqual(none.body, { error: 'Channel news keeps no history' });
    assert.equal((await get('/admin/apps/app-id/channels/history.orders/history?limit=0')).status, 400);
  });

  it('publishes through the normal path to a pusher-js subscriber, and records an admin activity', async () => {
    const activity: Activity[] = [];
    const remove = server.ctx.activity.add({ kinds: ['admin', 'publish'], accept: (a) => activity.push(a) });
    const client = await Client.connect(port);
    closers.push(() => client.disconnect());
    try {
      await client.subscribe('news');
      const sent = await adminRequest(port, '/admin/apps/app-id/events', { token: ADMIN, body: { channel: 'news', event: 'hello', data: { text: 'hi' } } });
      assert.equal(sent.status, 200);
      assert.deepEqual(sent.body, {});
      assert.deepEqual((await client.next('news', 'hello')).data, { text: 'hi' });
      const publish = activity.find((a) => a.kind === 'publish');
      assert.deepEqual(publish && { source: publish.source, actor: publish.actor, data: publish.data }, { source: 'admin', actor: 'admin', data: '{"text":"hi"}' });
      const admin = activity.find((a) => a.kind === 'admin');
      assert.deepEqual(admin && { action: admin.action, actor: admin.actor, target: admin.target, appId: admin.appId }, { action: 'publish', actor: 'admin', target: 'news', appId: 'app-id' });
    } finally {
      remove();
      client.disconnect();
    }
  });

  it('refuses bad publishes with the HTTP API\'s 400 and 413', async () => {
    const noChannel = await adminRequest(port, '/admin/apps/app-id/events', { token: ADMIN, body: { event: 'e', data: '{}' } });
    assert.deepEqual(noChannel, { ...noChannel, status: 400, body: { error: 'Missing "channel" (string)' } });
    const noEvent = await adminRequest(port, '/admin/apps/app-id/events', { token: ADMIN, body: { channel: 'news', data: '{}' } });
    assert.deepEqual([noEvent.status, noEvent.body], [400, { error: 'Missing or invalid "event": a non-empty string is required' }]);
    const badChannel = await adminRequest(port, '/admin/apps/app-id/events', { token: ADMIN, body: { channel: 'no spaces', event: 'e', data: '{}' } });
    assert.equal(badChannel.status, 400);
    const badJson = await adminRequest(port, '/admin/apps/app-id/events', { token: ADMIN, body: '{nope' });
    assert.equal(badJson.status, 400);
    const tooBig = await adminRequest(port, '/admin/apps/app-id/events', { token: ADMIN, body: { channel: 'news', event: 'e', data: 'x'.repeat(11 * 1024) } });
    assert.equal(tooBig.status, 413);
    assert.match(tooBig.body.error, /too large/);
  });

  it('terminate closes the user\'s socket', async () => {
    const client = await RawClient.connect(port);
    closers.push(() => client.close());
    const socketId = await client.established();
    const userData = '{"id":"bob"}';
    client.send({ event: 'pusher:signin', data: { auth: signUser(APP.key, APP.secret, socketId, userData), user_data: userData } });
    await client.next((f) => f.event === 'pusher:signin_success');
    const answer = await adminRequest(port, '/admin/apps/app-id/users/bob/terminate', { token: ADMIN, body: {} });
    assert.deepEqual([answer.status, answer.body], [200, {}]);
    assert.equal((await client.closed).code, 4009);
  });

  it('answers 415 to a POST that is not JSON, with a token too (a form on another page cannot send JSON)', async () => {
    const notJson = { error: 'POST to the admin API needs Content-Type: application/json' };
    const plain = await adminRequest(port, '/admin/apps/app-id/events', { token: ADMIN, body: '{"channel":"news","event":"e","data":"{}"}', headers: { 'content-type': 'text/plain' } });
    assert.deepEqual([plain.status, plain.body], [415, notJson]);
    const bare = await adminRequest(port, '/admin/apps/app-id/users/bob/terminate', { token: ADMIN, method: 'POST' });
    assert.deepEqual([bare.status, bare.body], [415, notJson]);
    const charset = await adminRequest(port, '/admin/apps/app-id/events', { token: ADMIN, body: { channel: 'news', event: 'e', data: '{}' }, headers: { 'content-type': 'application/json; charset=utf-8' } });
    assert.equal(charset.status, 200);
  });

  it('answers unknown admin paths 404 and wrong methods 405, as JSON', async () => {
    assert.deepEqual((await get('/admin/nothing')).body, { error: 'Not found: GET /admin/nothing' });
    assert.equal((await adminRequest(port, '/admin/apps/app-id/stats', { token: ADMIN, method: 'POST', body: {} })).status, 405);
  });

  it('serves the console\'s files with no-cache, nosniff, no framing and a strict CSP, without a token', async () => {
    const page = await adminRequest(port, '/console');
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.ok(page.text.includes('/console/console.js') && !page.text.includes('{{'), 'the page names its files from the root');
    assert.equal(page.headers['cache-control'], 'no-cache');
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    assert.equal(page.headers['content-security-policy'], "default-src 'self'; connect-src 'self'; frame-ancestors 'none'");
    assert.equal(page.headers['x-frame-options'], 'DENY');
    assert.match(String((await adminRequest(port, '/console/console.js')).headers['content-type']), /^text\/javascript/);
    assert.match(String((await adminRequest(port, '/console/console.css')).headers['content-type']), /^text\/css/);
    assert.equal((await adminRequest(port, '/console/')).status, 200);
    assert.equal((await adminRequest(port, '/console/secrets.json')).status, 404);
  });

  it('answers 503 with the build command when the console is not built', () => {
    const reply = new ConsoleFiles('/console', '', '/nonexistent/console').serve('GET', '/');
    assert.deepEqual([reply.status, reply.body], [503, 'the console is not built: run npm run build']);
  });
});

describe('admin API without a token', () => {
  it('answers loopback as `loopback`, refuses other addresses with 401, serves the console to loopback only', async () => {
    const server = await startTestServer({ apps: [APP] });
    try {
      const local = await adminRequest(server.port, '/admin/whoami');
      assert.deepEqual([local.status, local.body], [200, { actor: 'loopback', apps: '*' }]);
      const remote = await adminRequest(server.port, '/admin/whoami', { localAddress: '127.0.0.2' });
      assert.deepEqual([remote.status, remote.body], [401, { error: 'the admin API needs adminToken (BROADCASTY_ADMIN_TOKEN) for requests that are not from loopback' }]);
      assert.equal((await adminRequest(server.port, '/console', { localAddress: '127.0.0.2' })).status, 401);
      assert.equal((await adminRequest(server.port, '/console')).status, 200);
    } finally {
      await server.shutdown();
    }
  });

  it('refuses what a web page or a proxy could send: another Host, another Origin, cross-site, forwarded (403)', async () => {
    const server = await startTestServer({ apps: [APP] });
    const port = server.port;
    const publish = (headers: Record<string, string>) => adminRequest(port, '/admin/apps/app-id/events', { body: { channel: 'news', event: 'e', data: '{}' }, headers });
    try {
      const wrongHost = { error: 'the admin API without adminToken answers only Host localhost, 127.0.0.1, [::1] (any port), against DNS rebinding: set adminToken (BROADCASTY_ADMIN_TOKEN) to use another name' };
      const crossOrigin = { error: 'the admin API without adminToken refuses cross-origin requests (Origin must be this server, Sec-Fetch-Site not cross-site)' };
      const proxied = {
        error: 'the admin API refuses proxied requests (X-Forwarded-For, Forwarded, X-Real-IP) without adminToken: behind a proxy every request comes from loopback; set adminToken (BROADCASTY_ADMIN_TOKEN)',
      };
      // The review's repro: a page on evil.example posting text/plain to a developer's local server.
      const csrf = await publish({ 'content-type': 'text/plain', origin: 'https://evil.example' });
      assert.deepEqual([csrf.status, csrf.body], [403, crossOrigin]);
      for (const headers of [{ origin: 'null' }, { origin: `http://localhost:${port}` }, { 'sec-fetch-site': 'cross-site' }] as Record<string, string>[]) {
        const answer = await publish(headers);
        assert.deepEqual([answer.status, answer.body], [403, crossOrigin], JSON.stringify(headers));
      }
      // DNS rebinding: evil.example resolving to 127.0.0.1 still says so in Host; the tap and the console too.
      for (const path of ['/admin/whoami', '/admin/apps/app-id/tap', '/console']) {
        const rebound = await adminRequest(port, path, { headers: { host: `evil.example:${port}` } });
        assert.deepEqual([rebound.status, rebound.body], [403, wrongHost], path);
      }
      for (const name of ['x-forwarded-for', 'forwarded', 'x-real-ip']) {
        const answer = await adminRequest(port, '/admin/whoami', { headers: { [name]: name === 'forwarded' ? 'for=203.0.113.9' : '203.0.113.9' } });
        assert.deepEqual([answer.status, answer.body], [403, proxied], name);
      }
      // What the console, the CLI and curl send: answered.
      for (const headers of [{}, { host: `localhost:${port}` }, { host: `[::1]:${port}` }, { host: 'LOCALHOST' }, { origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin' }] as Record<string, string>[]) {
        const answer = await publish(headers);
        assert.deepEqual([answer.status, answer.body], [200, {}], JSON.stringify(headers));
      }
    } finally {
      await server.shutdown();
    }
  });

  it('counts every spelling of the loopback addresses as loopback, and nothing else', () => {
    const loopback = ['127.0.0.1', '::1', '::ffff:127.0.0.1', '::FFFF:127.0.0.1', '0:0:0:0:0:0:0:1', '0000:0000:0000:0000:0000:0000:0000:0001', '0000:0000:0000:0000:0000:ffff:7f00:0001', '::ffff:7f00:1'];
    for (const address of loopback) assert.equal(isLoopback(address), true, address);
    for (const address of ['127.0.0.2', '::ffff:127.0.0.2', '::2', '::127.0.0.1', '192.0.2.1', '::ffff:192.0.2.1', 'localhost', '', 'not an address']) assert.equal(isLoopback(address), false, address);
  });

  it('answers 403 for everything in production', async () => {
    const server = await startTestServer({ apps: [APP], environment: 'production' });
    try {
      const refused = { error: 'the admin API is off in production without adminToken (BROADCASTY_ADMIN_TOKEN)' };
      for (const path of ['/admin/whoami', '/admin/apps/app-id/stats', '/console', '/console/console.js']) {
        const answer = await adminRequest(server.port, path);
        assert.deepEqual([answer.status, answer.body], [403, refused], path);
      }
    } finally {
      await server.shutdown();
    }
  });

  it('console: false leaves the console path to the rest of the server (404)', async () => {
    const server = await startTestServer({ apps: [APP], console: false });
    try {
      assert.equal((await adminRequest(server.port, '/console')).status, 404);
      assert.equal((await adminRequest(server.port, '/admin/whoami')).status, 200);
    } finally {
      await server.shutdown();
    }
  });
});
