// The /broadcasty/* endpoints as a JWT client sees them (docs/PROTOCOL.md §14.5–§14.7): every
// endpoint's answer, the errors table, CORS preflights, anti-replay, rate windows, revocation
// through the `pusher` SDK, and what a publish puts on the wire for pusher-js and raw sockets.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningServer } from '../src/server.js';
import { APP, sdk, sleep } from './support/cluster.js';
import { RawClient, startTestServer, type Frame } from './support/in-process.js';
import { jwtPusher, subscribeRaw } from './support/jwt-clients.js';
import { broadcasty, JWT_APP, jwtApp, mintToken, replayHeaders, type BroadcastyCall } from './support/jwt.js';

const ORIGIN = 'https://app.example';
const ORDERS = 'private-tenant.acme.orders';
const LOG = 'private-tenant.acme.log';
const ROOM = 'presence-tenant.acme.room';
/** Its allowedOrigins would refuse the tests' sockets (they send no Origin): an app of its own. */
const CORS_APP = { id: 'cors-app', key: 'cors-key', secret: 'cors-secret' };
const limited = (id: string, rateLimits: Record<string, number | null>) =>
  jwtApp({}, { rateLimits: { perIp: null, perUser: null, perChannel: null, ...rateLimits } }, { id, key: `${id}-key`, secret: `${id}-secret` });

const APPS = [
  { ...APP },
  jwtApp({ maxEventPayloadKb: 1, history: [{ channels: [LOG] }] }),
  jwtApp({ allowedOrigins: [ORIGIN] }, {}, CORS_APP),
  limited('per-ip', { perIp: 2 }),
  limited('per-user', { perUser: 2 }),
  limited('per-channel', { perChannel: 2 }),
  jwtApp({}, { clockSkewSeconds: 1 }, { id: 'short-skew', key: 'short-skew-key', secret: 'short-skew-secret' }),
];

/** A raw socket of the JWT app subscribed with a token in `auth` (§14.2), kept in `sockets` to close. */
async function subscribedWithToken(port: number, sockets: RawClient[], channel: string, token: string): Promise<RawClient> {
  const client = await RawClient.connect(port, JWT_APP.key);
  sockets.push(client);
  await client.established();
  const answer = await subscribeRaw(client, channel, token);
  assert.equal(answer.event, 'pusher_internal:subscription_succeeded', JSON.stringify(answer));
  return client;
}

const member = () => mintToken({ sub: 'reader', roles: ['member'] });
const publisher = (claims = {}) => mintToken({ sub: 'writer', roles: ['member', 'publisher'], ...claims });

describe('/broadcasty/* endpoints (LocalEngine)', () => {
  let server: RunningServer;
  let port: number;
  const sockets: RawClient[] = [];
  const call = (method: 'GET' | 'POST' | 'OPTIONS', endpoint: string, options: BroadcastyCall = {}) => broadcasty(port, method, endpoint, options);

  const subscriber = (channel: string, token: string) => subscribedWithToken(port, sockets, channel, token);

  /** Publishes a marker and waits for it: everything published before it reached the client. */
  async function settled(client: RawClient, channel: string): Promise<void> {
    assert.equal((await call('POST', 'publish', { token: await publisher(), body: { channel, event: 'marker', data: {} } })).status, 200);
    await client.next((f) => f.event === 'marker' && f.channel === channel);
  }

  before(async () => {
    server = await startTestServer({ apps: APPS, maxRequestBytes: 64 * 1024 });
    port = server.port;
  });

  after(async () => {
    for (const socket of sockets) socket.close();
    await server.shutdown();
  });

  it('publish reaches pusher-js with the same data, and the raw frame carries correlation_id and meta after channel', async () => {
    const raw = await subscriber(ORDERS, await member());
    const pusher = jwtPusher(port, JWT_APP.key, { channel: member });
    try {
      const channel = pusher.subscribe(ORDERS);
      await new Promise<void>((resolve, reject) => {
        channel.bind('pusher:subscription_succeeded', () => resolve());
        channel.bind('pusher:subscription_error', (error: unknown) => reject(new Error(JSON.stringify(error))));
      });
      const bound = new Promise<unknown>((resolve) => channel.bind('order.shipped', resolve));
      const reply = await call('POST', 'publish', {
        token: await publisher(),
        body: { channel: ORDERS, event: 'order.shipped', data: { id: 7 }, correlationId: 'req-42', meta: { source: 'mobile', v: 2 } },
      });
      assert.deepEqual([reply.status, reply.text], [200, '{"ok":true}']);
      assert.deepEqual(await bound, { id: 7 }, 'bind gets the data as if there were no extras');
      const frame = await raw.next((f) => f.event === 'order.shipped');
      assert.equal(raw.text(frame), `{"event":"order.shipped","data":"{\\"id\\":7}","channel":"${ORDERS}","correlation_id":"req-42","meta":{"source":"mobile","v":2}}`);

      const plain = await call('POST', 'publish', { token: await publisher(), body: { channel: ORDERS, event: 'plain', data: 'text' } });
      assert.equal(plain.status, 200);
      const plainFrame = await raw.next((f) => f.event === 'plain');
      assert.equal(raw.text(plainFrame), `{"event":"plain","data":"text","channel":"${ORDERS}"}`, 'without extras: the plain §2.10 frame');
    } finally {
      pusher.disconnect();
    }
  });

  it('an idempotencyKey publishes once; its repeat answers the same body and delivers nothing', async () => {
    const raw = await subscriber(ORDERS, await member());
    const body = { channel: ORDERS, event: 'once', data: 'x', idempotencyKey: 'order-7-shipped' };
    const first = await call('POST', 'publish', { token: await publisher(), body });
    const repeat = await call('POST', 'publish', { token: await publisher(), body });
    assert.deepEqual([first.status, repeat.status, repeat.text], [200, 200, first.text]);
    await settled(raw, ORDERS);
    assert.equal(raw.frames.filter((f: Frame) => f.event === 'once').length, 1, 'one delivery');
  });

  it('a publish on a history channel answers its position, the one on the frame; replay pages it', async () => {
    const raw = await subscriber(LOG, await member());
    const reply = await call('POST', 'publish', { token: await publisher(), body: { channel: LOG, event: 'logged', data: 'one', correlationId: 'c-1' } });
    assert.equal(reply.status, 200, reply.text);
    const position = reply.body.position as { offset: number; epoch: string };
    assert.equal(position.offset, 1);
    const frame = await raw.next((f) => f.event === 'logged');
    assert.equal(raw.text(frame), `{"event":"logged","data":"one","channel":"${LOG}","correlation_id":"c-1","offset":1,"epoch":"${position.epoch}"}`);

    const page = await call('GET', 'replay', { token: await member(), query: { channel: LOG, from: '1', limit: '10' } });
    assert.equal(page.status, 200, page.text);
    assert.deepEqual(page.body, { channel: LOG, partition: 0, epoch: position.epoch, offset: 1, first: 1, events: [{ offset: 1, event: 'logged', data: 'one' }], next: null });
    assert.equal((await call('GET', 'replay', { token: await member(), query: { channel: ORDERS } })).status, 404, 'a channel without history');
    const badFrom = await call('GET', 'replay', { token: await member(), query: { channel: LOG, from: 'zero' } });
    assert.equal(badFrom.status, 400);
    assert.match(String(badFrom.body.error), /Invalid from/);
  });

  it('presence: join answers the roster and announces the member, heartbeat renews, leave removes, GET lists', async () => {
    const watcher = await subscriber(ROOM, await mintToken({ sub: 'watcher' }));
    const joiner = await mintToken({ sub: 'phone', user_info: { name: 'Phone' } });
    const joined = await call('POST', 'presence/join', { token: joiner, body: { channel: ROOM } });
    assert.equal(joined.status, 200, joined.text);
    assert.deepEqual(joined.body, {
      channel: ROOM,
      user_id: 'phone',
      ttl_seconds: 60,
      presence: { count: 2, ids: ['watcher', 'phone'], hash: { watcher: null, phone: { name: 'Phone' } } },
    });
    const added = await watcher.next((f) => f.event === 'pusher_internal:member_added');
    assert.deepEqual(JSON.parse(added.data as string), { user_id: 'phone', user_info: { name: 'Phone' } });

    const heartbeat = await call('POST', 'presence/heartbeat', { token: joiner, body: { channel: ROOM } });
    assert.deepEqual([heartbeat.status, heartbeat.body.ttl_seconds], [200, 60]);
    const roster = await call('GET', 'presence', { token: joiner, query: { channel: ROOM } });
    assert.deepEqual(roster.body, { count: 2, ids: ['watcher', 'phone'], hash: { watcher: null, phone: { name: 'Phone' } } });

    assert.deepEqual((await call('POST', 'presence/leave', { token: joiner, body: { channel: ROOM } })).body, { left: true });
    const removed = await watcher.next((f) => f.event === 'pusher_internal:member_removed');
    assert.deepEqual(JSON.parse(removed.data as string), { user_id: 'phone' });
    assert.deepEqual((await call('POST', 'presence/leave', { token: joiner, body: { channel: ROOM } })).body, { left: false });
    const expired = await call('POST', 'presence/heartbeat', { token: joiner, body: { channel: ROOM } });
    assert.equal(expired.status, 404, 'no lease to renew');
    const notPresence = await call('POST', 'presence/join', { token: joiner, body: { channel: ORDERS } });
    assert.equal(notPresence.status, 400);
  });

  it('401: missing header, malformed, expired or badly signed token, skew, missing nonce, replayed nonce', async () => {
    const body = { channel: ORDERS, event: 'e', data: 'x' };
    const cases: [string, BroadcastyCall, RegExp][] = [
      ['no Authorization', { body }, /Missing Authorization/],
      ['not a JWT', { body, token: 'not.a.jwt' }, /malformed token/],
      ['expired', { body, token: await publisher({ exp: Math.floor(Date.now() / 1000) - 3600 }) }, /token expired/],
      ['wrong secret', { body, token: await mintToken({ roles: ['publisher'] }, { secret: new TextEncoder().encode('another-secret-of-at-least-32-bytes!!') }) }, /signature verification failed/],
      ['timestamp skew', { body, token: await publisher(), headers: replayHeaders(undefined, Math.floor(Date.now() / 1000) - 600) }, /timestamp skew exceeded/],
      ['no nonce', { body, token: await publisher(), headers: {} }, /X-Broadcasty-Nonce/],
    ];
    for (const [what, options, message] of cases) {
      const reply = await call('POST', 'publish', options);
      assert.equal(reply.status, 401, what);
      assert.match(String(reply.body.error), message, what);
      assert.equal(reply.headers.get('content-type'), 'application/json', what);
    }
    const token = await publisher();
    const headers = replayHeaders();
    assert.equal((await call('POST', 'publish', { body, token, headers })).status, 200);
    const replayed = await call('POST', 'publish', { body, token, headers });
    assert.deepEqual([replayed.status, replayed.body], [401, { error: 'replay detected' }]);
    assert.equal((await call('GET', 'presence', { token, query: { channel: ROOM } })).status, 200, 'a GET needs no nonce');
  });

  it('403 for a role the default policy does not give and for another tenant; 404 for hmac apps and unknown keys', async () => {
    const byMember = await call('POST', 'publish', { token: await member(), body: { channel: ORDERS, event: 'e', data: 'x' } });
    assert.equal(byMember.status, 403, byMember.text);
    const crossTenant = await call('POST', 'publish', { token: await publisher(), body: { channel: 'private-tenant.other.orders', event: 'e', data: 'x' } });
    assert.deepEqual([crossTenant.status, crossTenant.body], [403, { error: 'channel belongs to another tenant' }]);
    const crossReplay = await call('GET', 'replay', { token: await member(), query: { channel: 'private-tenant.other.log' } });
    assert.deepEqual([crossReplay.status, crossReplay.body], [403, { error: 'channel belongs to another tenant' }]);

    const hmacApp = await call('POST', 'publish', { token: await publisher(), appKey: APP.key, body: { channel: ORDERS, event: 'e', data: 'x' } });
    assert.equal(hmacApp.status, 404);
    assert.equal((await call('GET', 'presence', { token: await member(), appKey: 'no-such-key', query: { channel: ROOM } })).status, 404);
    assert.equal((await call('GET', 'nowhere', { token: await member() })).status, 404);
  });

  it('400 for malformed bodies and fields, 413 for data and bodies too large', async () => {
    const token = await publisher();
    const bad: [unknown, RegExp][] = [
      ['{not json', /JSON/],
      [[1, 2], /JSON object/],
      [{ event: 'e', data: 'x' }, /"channel"/],
      [{ channel: 'bad name!', event: 'e', data: 'x' }, /channel/i],
      [{ channel: ORDERS, data: 'x' }, /"event"/],
      [{ channel: ORDERS, event: 'e' }, /"data"/],
      [{ channel: ORDERS, event: 'e', data: 'x', meta: [1] }, /"meta"/],
      [{ channel: ORDERS, event: 'e', data: 'x', correlationId: 7 }, /"correlationId"/],
      [{ channel: ORDERS, event: 'e', data: 'x', idempotencyKey: '' }, /"idempotencyKey"/],
    ];
    for (const [body, message] of bad) {
      const reply = await call('POST', 'publish', { token, body });
      assert.equal(reply.status, 400, JSON.stringify(body));
      assert.match(String(reply.body.error), message, JSON.stringify(body));
    }
    const bigData = await call('POST', 'publish', { token, body: { channel: ORDERS, event: 'e', data: 'x'.repeat(2048) } });
    assert.deepEqual([bigData.status, bigData.body], [413, { error: 'Event data too large: at most 1 KB' }]);
    const bigBody = await call('POST', 'publish', { token, body: { channel: ORDERS, event: 'e', data: 'x', pad: 'x'.repeat(100 * 1024) } });
    assert.equal(bigBody.status, 413);
  });

  it('429 with Retry-After per IP, per user and per channel', async () => {
    /** Six requests at once against a limit of 2 span at most two one-second windows: some are refused. */
    const burst = async (appKey: string, tokens: string[], channel: (i: number) => string) => {
      const replies = await Promise.all(tokens.map((token, i) => broadcasty(port, 'POST', 'publish', { appKey, token, body: { channel: channel(i), event: 'e', data: 'x' } })));
      const refused = replies.filter((r) => r.status === 429);
      assert.ok(refused.length >= 2, `statuses ${replies.map((r) => r.status).join(',')}`);
      assert.ok(replies.every((r) => r.status === 200 || r.status === 429), replies.map((r) => r.text).join(' '));
      for (const reply of refused) assert.equal(reply.headers.get('retry-after'), '1');
      return String(refused[0].body.error);
    };
    const users = (n: number) => Promise.all(Array.from({ length: n }, (_, i) => publisher({ sub: `writer-${i}` })));
    const sameUser = await Promise.all(Array.from({ length: 6 }, () => publisher()));
    assert.match(await burst('per-ip-key', await users(6), (i) => `private-tenant.acme.c${i}`), /this address/);
    assert.match(await burst('per-user-key', sameUser, (i) => `private-tenant.acme.c${i}`), /this user/);
    assert.match(await burst('per-channel-key', await users(6), () => ORDERS), /channel/);
  });

  it('CORS: a preflight from an allowed origin gets 204 with the headers, another origin 403', async () => {
    const preflight = (origin: string, appKey = CORS_APP.key) =>
      fetch(`http://127.0.0.1:${port}/broadcasty/publish?app=${appKey}`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, x-broadcasty-nonce, x-broadcasty-timestamp' },
      });
    const allowed = await preflight(ORIGIN);
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers.get('access-control-allow-origin'), ORIGIN);
    assert.match(allowed.headers.get('access-control-allow-methods') ?? '', /POST/);
    for (const header of ['Authorization', 'Content-Type', 'X-Broadcasty-Nonce', 'X-Broadcasty-Timestamp']) {
      assert.match(allowed.headers.get('access-control-allow-headers') ?? '', new RegExp(header));
    }
    const denied = await preflight('https://evil.example');
    assert.equal(denied.status, 403);
    assert.match(((await denied.json()) as { error: string }).error, /evil\.example is not allowed/);
    assert.equal((await preflight(ORIGIN, APP.key)).status, 404, 'an hmac app has no /broadcasty endpoints');

    const answer = await fetch(`http://127.0.0.1:${port}/broadcasty/presence?app=${CORS_APP.key}&channel=${ROOM}`, { headers: { origin: ORIGIN, authorization: `Bearer ${await member()}` } });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get('access-control-allow-origin'), ORIGIN);
  });

  it('a jti revoked through POST /apps/{id}/revoked_tokens (pusher SDK post()) is refused from then on', async () => {
    const token = await publisher({ jti: 'leaked-token' });
    const body = { channel: ORDERS, event: 'e', data: 'x' };
    assert.equal((await call('POST', 'publish', { token, body })).status, 200);
    const signer = sdk(port, JWT_APP);
    // The SDK's typings say string, but it JSON-encodes the body itself: it takes the object.
    const post = (body: object) => signer.post({ path: '/revoked_tokens', body: body as unknown as string });
    const revoked = await post({ jti: 'leaked-token', expires_at: Math.floor(Date.now() / 1000) + 600 });
    assert.equal(revoked.status, 200);
    const refused = await call('POST', 'publish', { token, body });
    assert.deepEqual([refused.status, refused.body], [401, { error: 'token revoked' }]);
    assert.equal((await call('POST', 'publish', { token: await publisher({ jti: 'another' }), body })).status, 200, 'other tokens still pass');

    await assert.rejects(post({ jti: 'x' }), (error: { status: number }) => error.status === 400);
    const unsigned = await fetch(`http://127.0.0.1:${port}/apps/${JWT_APP.id}/revoked_tokens`, { method: 'POST', body: '{"jti":"x","expires_at":1}' });
    assert.equal(unsigned.status, 401);
  });
});

describe('/broadcasty/* review fixes (LocalEngine)', () => {
  let server: RunningServer;
  let port: number;
  const sockets: RawClient[] = [];
  const subscriber = (channel: string, token: string) => subscribedWithToken(port, sockets, channel, token);

  before(async () => {
    server = await startTestServer({ apps: APPS });
    port = server.port;
  });

  after(async () => {
    for (const socket of sockets) socket.close();
    await server.shutdown();
  });

  it('an idempotencyKey is per tenant and user: the same key from another tenant, another user or the HMAC API publishes', async () => {
    const GLOBEX = 'private-tenant.globex.orders';
    const acme = await subscriber(ORDERS, await member());
    const globex = await subscriber(GLOBEX, await mintToken({ sub: 'reader', tid: 'globex', roles: ['member'] }));
    const send = async (token: string, channel: string, data: string, idempotencyKey?: string) => {
      const reply = await broadcasty(port, 'POST', 'publish', { token, body: { channel, event: 'keyed', data, idempotencyKey } });
      assert.deepEqual([reply.status, reply.text], [200, '{"ok":true}'], data);
    };
    await send(await publisher(), ORDERS, 'acme writer', 'order-1');
    await send(await mintToken({ sub: 'writer', tid: 'globex', roles: ['publisher'] }), GLOBEX, 'globex writer', 'order-1');
    await send(await publisher({ sub: 'writer-2' }), ORDERS, 'acme writer-2', 'order-1');
    await send(await publisher(), ORDERS, 'acme writer again', 'order-1');
    await sdk(port, JWT_APP).trigger(ORDERS, 'keyed', 'hmac', { idempotency_key: 'order-1' } as Record<string, string>);
    // A marker after everything: what was published before it has arrived.
    await send(await publisher(), ORDERS, 'marker');
    await send(await mintToken({ sub: 'writer', tid: 'globex', roles: ['publisher'] }), GLOBEX, 'marker');
    await Promise.all([acme.next((f) => f.data === 'marker'), globex.next((f) => f.data === 'marker')]);
    const keyed = (client: RawClient) => client.frames.filter((f: Frame) => f.event === 'keyed').map((f: Frame) => f.data);
    assert.deepEqual(keyed(globex), ['globex writer'], 'globex publishes with the key acme used');
    assert.deepEqual(keyed(acme), ['acme writer', 'acme writer-2', 'hmac'], 'the repeat of one user is deduplicated, no one else is');
  });

  it('429 per IP for forged tokens: the per-IP window is counted before the signature is checked', async () => {
    const forged = await mintToken({ roles: ['publisher'] }, { secret: new TextEncoder().encode('a-forger-secret-of-at-least-32-bytes!') });
    const replies = await Promise.all(
      Array.from({ length: 6 }, () => broadcasty(port, 'POST', 'publish', { appKey: 'per-ip-key', token: forged, body: { channel: ORDERS, event: 'e', data: 'x' } })),
    );
    const statuses = replies.map((r) => r.status);
    assert.ok(statuses.filter((s) => s === 429).length >= 2, `statuses ${statuses.join(',')}`);
    assert.ok(statuses.every((s) => s === 401 || s === 429), `statuses ${statuses.join(',')}`);
    const refused = replies.find((r) => r.status === 429)!;
    assert.deepEqual([refused.body, refused.headers.get('retry-after')], [{ error: 'Too many requests: at most 2 per second for this address' }, '1']);
  });

  it('a nonce is remembered past twice the skew (a minute more for node clocks apart): replayed later with a fresh timestamp, 401', async () => {
    const token = await publisher();
    const call = (headers: Record<string, string>) => broadcasty(port, 'POST', 'publish', { appKey: 'short-skew-key', token, headers, body: { channel: ORDERS, event: 'e', data: 'x' } });
    const nonce = 'nonce-of-a-skew-window';
    assert.equal((await call(replayHeaders(nonce))).status, 200);
    // clockSkewSeconds is 1: a timestamp this old is refused anywhere, and a nonce kept for only 2 s would be forgotten.
    await sleep(2100);
    const replayed = await call(replayHeaders(nonce));
    assert.deepEqual([replayed.status, replayed.body], [401, { error: 'replay detected' }]);
  });
});
