// docs/PROTOCOL.md §10 items 86–105: HTTP API behaviour (§5.3–§5.8), exact statuses and bodies, and
// who received what. Items 104/105 drive the PHP-shape client and the real Node SDK end to end.
import Pusher from 'pusher';
import type { Case, CaseContext } from '../types.js';
import { laravelBroadcast, parseJson, PhpPusher, RestClient, type HttpReply } from '../lib/http-client.js';
import { assert, assertEqual, closedWithin, connect, member, on, sleep, uniq } from '../lib/kit.js';
import type { RawSocket } from '../lib/raw-socket.js';
import { expectStatus } from './http-auth.js';

/** 200 with exactly this JSON body (key order ignored). */
function expectJson(reply: HttpReply, body: unknown, what: string): void {
  expectStatus(reply, 200, what);
  assertEqual(parseJson(reply), body, `${what} body`);
}

/** Peers subscribed to `channel`; presence members are given as [user_id, user_info] per socket. */
async function subscribers(ctx: CaseContext, channel: string, count: number, members?: [string | number, unknown][]): Promise<RawSocket[]> {
  const peers: RawSocket[] = [];
  for (let i = 0; i < count; i++) {
    const peer = await connect(ctx);
    const m = members?.[i];
    await peer.subscribeOk(channel, m ? { channelData: member(m[0], m[1]) } : {});
    peers.push(peer);
  }
  return peers;
}

/** Asserts the peer received `name` on `channel` with `data` byte-equal after decoding the frame. */
async function expectDelivery(peer: RawSocket, channel: string, name: string, data: string): Promise<void> {
  const frame = await peer.next(on(channel, name), 3000, `"${name}" on ${channel}`);
  assert(typeof frame.data === 'string', `${name} on ${channel}: data must be a string, got ${frame.raw}`);
  assert(frame.data === data, `${name} on ${channel}: data not verbatim: sent ${JSON.stringify(data)}, got ${JSON.stringify(frame.data)}`);
  assert(!('user_id' in JSON.parse(frame.raw)), `${name} on ${channel}: HTTP events never carry user_id (§2.10): ${frame.raw}`);
}

const notDelivered = (peer: RawSocket, channel: string, ms = 400) => peer.expectNothing(ms, (f) => f.channel === channel && !f.event.startsWith('pusher'), `event delivered on ${channel} although the request was rejected`);

export const cases: Case[] = [
  {
    id: 86,
    title: 'POST /events with channels:[…] (Node shape) → 200 {} and delivery on every listed channel',
    async run(ctx) {
      const [a, b, c] = [uniq('n86a-'), uniq('n86b-'), uniq('private-n86c-')];
      const p1 = await connect(ctx);
      await p1.subscribeOk(a);
      await p1.subscribeOk(b);
      const [p2] = await subscribers(ctx, c, 1);
      expectJson(await new RestClient(ctx.target).post('/events', { name: 'multi', channels: [a, b, c], data: '{"n":86}' }), {}, 'POST /events');
      await expectDelivery(p1, a, 'multi', '{"n":86}');
      await expectDelivery(p1, b, 'multi', '{"n":86}');
      await expectDelivery(p2, c, 'multi', '{"n":86}');
    },
  },
  {
    id: 87,
    title: 'POST /events with channel:"x" (PHP shape) → 200 {} and delivery',
    async run(ctx) {
      const ch = uniq('p87-');
      const [peer] = await subscribers(ctx, ch, 1);
      expectJson(await new RestClient(ctx.target).post('/events', '{"name":"single","data":"{\\"n\\":87}","channel":"' + ch + '"}'), {}, 'POST /events');
      await expectDelivery(peer, ch, 'single', '{"n":87}');
    },
  },
  {
    id: 88,
    title: 'socket_id in the body excludes exactly that connection',
    async run(ctx) {
      const ch = uniq('x88-');
      const [p1, p2, p3] = await subscribers(ctx, ch, 3);
      expectJson(await new RestClient(ctx.target).post('/events', { name: 'ex', channels: [ch], data: '{}', socket_id: p2.socketId }), {}, 'POST /events');
      await expectDelivery(p1, ch, 'ex', '{}');
      await expectDelivery(p3, ch, 'ex', '{}');
      await p2.expectNothing(400, (f) => f.event === 'ex', 'excluded socket received the event');
    },
  },
  {
    id: 89,
    title: 'more than 100 channels → 400 (100 → 200)',
    async run(ctx) {
      const rest = new RestClient(ctx.target);
      const base = uniq('c89-');
      const list = (n: number) => Array.from({ length: n }, (_, i) => `${base}${i}`);
      const [peer] = await subscribers(ctx, `${base}0`, 1);
      expectStatus(await rest.post('/events', { name: 'many', channels: list(101), data: '{}' }), 400, '101 channels');
      await notDelivered(peer, `${base}0`);
      expectJson(await rest.post('/events', { name: 'many', channels: list(100), data: '{}' }), {}, '100 channels');
      await expectDelivery(peer, `${base}0`, 'many', '{}');
    },
  },
  {
    id: 90,
    title: 'data larger than 10 KB → 413',
    async run(ctx) {
      const rest = new RestClient(ctx.target);
      const ch = uniq('big-');
      const [peer] = await subscribers(ctx, ch, 1);
      expectStatus(await rest.post('/events', { name: 'big', channel: ch, data: 'x'.repeat(10 * 1024 + 1) }), 413, 'data of 10 KiB + 1 byte');
      expectStatus(await rest.post('/events', { name: 'big', channel: ch, data: 'x'.repeat(20 * 1024) }), 413, 'data of 20 KiB');
      await notDelivered(peer, ch);
      expectJson(await rest.post('/events', { name: 'big', channel: ch, data: 'x'.repeat(9000) }), {}, 'data of 9000 bytes');
    },
  },
  {
    id: 91,
    title: 'missing name/data/channels, invalid JSON, or another §5.3 validation failure → 400',
    async run(ctx) {
      const rest = new RestClient(ctx.target);
      const ch = uniq('bad-');
      const [peer] = await subscribers(ctx, ch, 1);
      const bodies: [string, string][] = [
        ['missing name', JSON.stringify({ channels: [ch], data: '{}' })],
        ['missing data', JSON.stringify({ name: 'e', channels: [ch] })],
        ['missing channels', JSON.stringify({ name: 'e', data: '{}' })],
        ['empty channels list', JSON.stringify({ name: 'e', channels: [], data: '{}' })],
        ['invalid JSON', `{"name":"e","channels":["${ch}"],"data":"{}"`],
        ['invalid channel name', JSON.stringify({ name: 'e', channels: [`${ch} space`], data: '{}' })],
        ['event name of 201 characters', JSON.stringify({ name: 'n'.repeat(201), channels: [ch], data: '{}' })],
        ['malformed socket_id', JSON.stringify({ name: 'e', channels: [ch], data: '{}', socket_id: '1.2x' })],
        ['encrypted channel mixed with others', JSON.stringify({ name: 'e', channels: ['private-encrypted-x', ch], data: '{}' })],
      ];
      for (const [what, body] of bodies) expectStatus(await rest.post('/events', body), 400, what);
      await notDelivered(peer, ch);
    },
  },
  {
    id: 92,
    title: 'event names starting with pusher: (or pusher_internal:) → 400',
    async run(ctx) {
      const rest = new RestClient(ctx.target);
      const ch = uniq('reserved-');
      const [peer] = await subscribers(ctx, ch, 1);
      expectStatus(await rest.post('/events', { name: 'pusher:custom', channels: [ch], data: '{}' }), 400, 'name pusher:custom');
      expectStatus(await rest.post('/events', { name: 'pusher_internal:subscription_succeeded', channels: [ch], data: '{}' }), 400, 'name pusher_internal:…');
      await peer.expectNothing(400, (f) => f.channel === ch && f.event !== 'pusher_internal:subscription_succeeded', 'reserved event delivered');
    },
  },
  {
    id: 93,
    title: 'delivered data equals the published string byte for byte',
    async run(ctx) {
      const rest = new RestClient(ctx.target);
      const ch = uniq('verbatim-');
      const [peer] = await subscribers(ctx, ch, 1);
      const samples = [
        '{"url":"https:\\/\\/example.test\\/a","name":"Jos\\u00e9"}', // PHP json_encode escapes
        '{"emoji":"😀","é":"ü","nul":"\\u0000"}',
        '{ "spaced" : [1, 2.50, 1e3, -0.0] , "dup":1, "dup":2 }', // a re-serialising server changes this
        'plain "text", not JSON',
        '{"nonce":"aGVsbG8=","ciphertext":"c2VjcmV0\\/Kw=="}',
      ];
      for (const [i, data] of samples.entries()) {
        expectJson(await rest.post('/events', { name: `v${i}`, channel: ch, data }), {}, `publish sample ${i}`);
        await expectDelivery(peer, ch, `v${i}`, data);
      }
    },
  },
  {
    id: 94,
    title: 'trigger with info=user_count,subscription_count → {"channels":{…}} with applicable attributes only',
    async run(ctx) {
      const pres = uniq('presence-i94-');
      const pub = uniq('i94-');
      await subscribers(ctx, pres, 3, [['1', { n: 'a' }], ['1', { n: 'a' }], [2, null]]);
      await subscribers(ctx, pub, 2);
      const reply = await new RestClient(ctx.target).post('/events', { name: 'e', channels: [pres, pub], data: '{}', info: 'user_count,subscription_count' });
      expectJson(reply, { channels: { [pres]: { user_count: 2 }, [pub]: { subscription_count: 2 } } }, 'trigger with info');
    },
  },
  {
    id: 95,
    title: 'POST /batch_events: ≤ 10 events → 200 {}; 11 → 400 and nothing delivered',
    async run(ctx) {
      const rest = new RestClient(ctx.target);
      const ch = uniq('b95-');
      const [peer] = await subscribers(ctx, ch, 1);
      const items = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ name: `${tag}${i}`, channel: ch, data: `{"i":${i}}` }));
      expectStatus(await rest.post('/batch_events', { batch: items(11, 'over') }), 400, '11 events');
      await peer.expectNothing(400, (f) => f.event.startsWith('over'), 'an event of the rejected batch was delivered');
      expectJson(await rest.post('/batch_events', { batch: items(10, 'ok') }), {}, '10 events');
      for (let i = 0; i < 10; i++) await expectDelivery(peer, ch, `ok${i}`, `{"i":${i}}`);
    },
  },
  {
    id: 96,
    title: 'batch with per-item info → {"batch":[…]} aligned to the input order',
    async run(ctx) {
      const pres = uniq('presence-b96-');
      const pub = uniq('b96-');
      await subscribers(ctx, pres, 2, [['u1', {}], ['u2', {}]]);
      await subscribers(ctx, pub, 3);
      const batch = [
        { name: 'a', channel: pres, data: '{}', info: 'user_count' },
        { name: 'b', channel: pub, data: '{}' },
        { name: 'c', channel: pub, data: '{}', info: 'subscription_count' },
        { name: 'd', channel: pres, data: '{}', info: 'subscription_count' },
      ];
      const reply = await new RestClient(ctx.target).post('/batch_events', { batch });
      expectJson(reply, { batch: [{ user_count: 2 }, {}, { subscription_count: 3 }, {}] }, 'batch with info');
    },
  },
  {
    id: 97,
    title: 'GET /channels lists only occupied channels as a JSON object ({"channels":{}} when none)',
    async run(ctx) {
      const rest = new RestClient(ctx.target);
      const prefix = uniq('occ-');
      expectJson(await rest.get('/channels', { filter_by_prefix: prefix }), { channels: {} }, 'no occupied channel under the prefix');
      const [pa] = await subscribers(ctx, `${prefix}a`, 1);
      await pa.subscribeOk(`${prefix}b`);
      expectJson(await rest.post('/events', { name: 'e', channels: [`${prefix}c`], data: '{}' }), {}, 'publish to an empty channel');
      expectJson(await rest.get('/channels', { filter_by_prefix: prefix }), { channels: { [`${prefix}a`]: {}, [`${prefix}b`]: {} } }, 'two occupied channels');
      pa.unsubscribe(`${prefix}b`);
      await sleep(300);
      expectJson(await rest.get('/channels', { filter_by_prefix: prefix }), { channels: { [`${prefix}a`]: {} } }, 'after unsubscribing b');
      const all = parseJson(await rest.get('/channels')) as { channels: unknown };
      assert(typeof all.channels === 'object' && all.channels !== null && !Array.isArray(all.channels), `GET /channels: channels must be an object, got ${JSON.stringify(all)}`);
    },
  },
  {
    id: 98,
    title: 'GET /channels?filter_by_prefix=presence-…&info=user_count returns user_count per channel',
    async run(ctx) {
      const prefix = uniq('presence-u98-');
      await subscribers(ctx, `${prefix}x`, 3, [['1', {}], ['2', {}], ['2', {}]]);
      await subscribers(ctx, `${prefix}y`, 1, [[7, null]]);
      const reply = await new RestClient(ctx.target).get('/channels', { filter_by_prefix: prefix, info: 'user_count' });
      expectJson(reply, { channels: { [`${prefix}x`]: { user_count: 2 }, [`${prefix}y`]: { user_count: 1 } } }, 'presence channels with user_count');
    },
  },
  {
    id: 99,
    title: 'GET /channels?info=user_count without a presence- prefix filter → 400',
    async run({ target }) {
      const rest = new RestClient(target);
      expectStatus(await rest.get('/channels', { info: 'user_count' }), 400, 'no filter');
      expectStatus(await rest.get('/channels', { filter_by_prefix: 'private-', info: 'user_count' }), 400, 'filter_by_prefix=private-');
    },
  },
  {
    id: 100,
    title: 'GET /channels/{ch} always includes occupied; info=user_count on a public channel → 400',
    async run(ctx) {
      const rest = new RestClient(ctx.target);
      const pub = uniq('i100-');
      const pres = uniq('presence-i100-');
      expectJson(await rest.get(`/channels/${pub}`), { occupied: false }, 'unoccupied public channel');
      // §5.5 [REC]: an unoccupied channel MAY add zero counts for the requested attributes; nothing else.
      const idle = parseJson(await rest.get(`/channels/${pres}`, { info: 'user_count' })) as Record<string, unknown>;
      assert(idle.occupied === false && [undefined, 0].includes(idle.user_count as number) && Object.keys(idle).every((k) => k === 'occupied' || k === 'user_count'), `unoccupied presence channel: ${JSON.stringify(idle)}`);
      await subscribers(ctx, pub, 2);
      await subscribers(ctx, pres, 2, [['a', {}], ['a', {}]]);
      expectJson(await rest.get(`/channels/${pub}`), { occupied: true }, 'occupied public channel');
      expectJson(await rest.get(`/channels/${pres}`, { info: 'user_count' }), { occupied: true, user_count: 1 }, 'presence channel with user_count');
      expectStatus(await rest.get(`/channels/${pub}`, { info: 'user_count' }), 400, 'info=user_count on a public channel');
    },
  },
  {
    id: 101,
    title: 'GET /channels/{cache-ch}?info=cache returns {data, ttl}, or null while nothing is cached',
    async run(ctx) {
      const rest = new RestClient(ctx.target);
      const ch = uniq('cache-i101-');
      await subscribers(ctx, ch, 1);
      expectJson(await rest.get(`/channels/${ch}`, { info: 'cache' }), { occupied: true, cache: null }, 'empty cache');
      const data = '{"price":"9.50 \\u20ac"}';
      expectJson(await rest.post('/events', { name: 'quote', channel: ch, data }), {}, 'publish to the cache channel');
      const body = parseJson(await rest.get(`/channels/${ch}`, { info: 'cache' })) as { occupied: boolean; cache: { data: string; ttl: number } };
      assertEqual({ occupied: body.occupied, data: body.cache?.data }, { occupied: true, data }, 'cached event');
      assert(Number.isInteger(body.cache.ttl) && body.cache.ttl > 0 && body.cache.ttl <= 1800, `cache.ttl must be an integer in (0, 1800], got ${JSON.stringify(body.cache)}`);
    },
  },
  {
    id: 102,
    title: 'GET /channels/{presence-ch}/users → {"users":[{"id":"…"}]}; non-presence channel → 400',
    async run(ctx) {
      const rest = new RestClient(ctx.target);
      const pres = uniq('presence-u102-');
      await subscribers(ctx, pres, 3, [[7, { name: 'int id' }], ['abc', null], [7, { name: 'int id' }]]);
      const body = parseJson(await rest.get(`/channels/${pres}/users`)) as { users: { id: string }[] };
      assertEqual({ users: [...body.users].sort((x, y) => (x.id < y.id ? -1 : 1)) }, { users: [{ id: '7' }, { id: 'abc' }] }, 'presence users (ids as strings, one per user)');
      expectJson(await rest.get(`/channels/${uniq('presence-empty-')}/users`), { users: [] }, 'empty presence channel');
      expectStatus(await rest.get(`/channels/${uniq('pub-')}/users`), 400, 'users of a public channel');
      expectStatus(await rest.get(`/channels/${uniq('private-')}/users`), 400, 'users of a private channel');
    },
  },
  {
    id: 103,
    title: 'every success response is HTTP 200 with a JSON body and Content-Type application/json',
    async run(ctx) {
      const rest = new RestClient(ctx.target);
      const pres = uniq('presence-r103-');
      await subscribers(ctx, pres, 1, [['1', {}]]);
      const calls: [string, Promise<HttpReply>][] = [
        ['POST /events', rest.post('/events', { name: 'e', channel: pres, data: '{}' })],
        ['POST /batch_events', rest.post('/batch_events', { batch: [{ name: 'e', channel: pres, data: '{}' }] })],
        ['GET /channels', rest.get('/channels')],
        ['GET /channels/{ch}', rest.get(`/channels/${pres}`, { info: 'user_count' })],
        ['GET /channels/{ch}/users', rest.get(`/channels/${pres}/users`)],
        ['POST /users/{id}/terminate_connections', rest.post(`/users/${uniq('nobody')}/terminate_connections`, '{}')],
      ];
      for (const [what, pending] of calls) {
        const reply = await pending;
        expectStatus(reply, 200, what);
        parseJson(reply);
        assert(String(reply.headers['content-type']).startsWith('application/json'), `${what}: Content-Type should be application/json, got ${reply.headers['content-type']}`);
      }
    },
  },
  {
    id: 104,
    title: 'PHP SDK shapes: trigger, triggerBatch, getChannels, getChannelInfo, getPresenceUsers, terminateUserConnections',
    async run(ctx) {
      const php = new PhpPusher(ctx.target);
      const pres = uniq('presence-php-');
      const priv = uniq('private-php-');
      const [alice, bob] = await subscribers(ctx, pres, 2, [['1', { name: 'Jos\u00e9' }], ['2', { url: 'https://x.test/a' }]]);
      await alice.subscribeOk(priv);
      await bob.subscribeOk(priv);
      // One channel → `channel`, payload json_encoded with \/ and \u escapes, socket_id from X-Socket-Id.
      const payload = { order: { id: 1, url: 'https://shop.test/o/1', note: 'café ☕' } };
      await laravelBroadcast(php, [priv], 'App\\Events\\OrderShipped', { ...payload, socket: alice.socketId });
      assert(php.requests.at(-1)!.body!.includes(`"channel":"${priv}"`) && php.requests.at(-1)!.url.includes('body_md5='), 'PHP shape: single channel sent as "channel" with body_md5');
      const expected = '{"order":{"id":1,"url":"https:\\/\\/shop.test\\/o\\/1","note":"caf\\u00e9 \\u2615"}}';
      await expectDelivery(bob, priv, 'App\\Events\\OrderShipped', expected);
      await alice.expectNothing(300, (f) => f.event === 'App\\Events\\OrderShipped', 'the X-Socket-Id sender received its own broadcast');
      assertEqual(await php.trigger([priv, pres], 'two', { a: 1 }), {}, 'trigger on two channels');
      await expectDelivery(alice, pres, 'two', '{"a":1}');
      assertEqual(await php.triggerBatch([{ channel: priv, name: 'b1', data: { x: '/' } }, { channel: pres, name: 'b2', data: 'raw', info: 'user_count' }]), { batch: [{}, { user_count: 2 }] }, 'triggerBatch');
      await expectDelivery(bob, priv, 'b1', '{"x":"\\/"}');
      await expectDelivery(bob, pres, 'b2', '"raw"');
      const channels = await php.getChannels({ filter_by_prefix: pres, info: 'user_count' });
      assertEqual(channels, { channels: { [pres]: { user_count: 2 } } }, 'getChannels');
      assertEqual(await php.getChannels({ filter_by_prefix: uniq('none-') }), { channels: {} }, 'getChannels with no match');
      assertEqual(await php.getChannelInfo(pres, { info: 'user_count' }), { occupied: true, user_count: 2 }, 'getChannelInfo');
      const users = (await php.getPresenceUsers(pres)) as { users: { id: string }[] };
      assertEqual(users.users.map((u) => u.id).sort(), ['1', '2'], 'getPresenceUsers');
      // Like the PHP SDK, any non-200 is an exception; Laravel wraps it as "Pusher error: <body>.".
      const failure = await laravelBroadcast(php, [priv], 'pusher:reserved', {}).then(() => undefined, (e: Error) => e.message);
      assert(failure?.startsWith('BroadcastException: Pusher error: ') && failure.endsWith('(HTTP 400)'), `a rejected broadcast must surface as BroadcastException with HTTP 400, got ${failure}`);
      const userId = uniq('php-user-');
      const signed = await connect(ctx);
      await signed.signinOk(JSON.parse(php.authenticateUser(signed.socketId, { id: userId, user_info: { name: 'Zoë' } })).user_data);
      assertEqual(await php.terminateUserConnections(userId), {}, 'terminateUserConnections');
      assertEqual((await closedWithin(signed, 3000)).code, 4009, 'signed-in socket close code');
      assert(bob.isOpen, 'a socket not signed in as that user stays open');
    },
  },
  {
    id: 105,
    title: 'Node SDK: trigger (socket_id, info), triggerBatch, get, sendToUser, terminateUserConnections; SDK-made auth subscribes',
    async run(ctx) {
      const t = ctx.target;
      // The Node SDK has no path option; a host carrying the prefix yields {prefix}/apps/… while it
      // signs /apps/…, which is what a reverse-proxied deployment looks like to the server.
      const sdk = new Pusher({ appId: t.appId, key: t.key, secret: t.secret, host: `${t.host}:${t.port}${t.pathPrefix}`, useTLS: t.tls });
      const pres = uniq('presence-node-');
      const pub = uniq('node-');
      const peers = await Promise.all([0, 1].map(() => connect(ctx)));
      for (const [i, p] of peers.entries()) {
        const auth = sdk.authorizeChannel(p.socketId, pres, { user_id: `n${i}`, user_info: { i } });
        await p.subscribeOk(pres, { auth: auth.auth, channelData: auth.channel_data });
        await p.subscribeOk(pub);
      }
      const res = await sdk.trigger([pres, pub], 'node-ev', { hello: 'wörld' }, { socket_id: peers[0].socketId, info: 'user_count,subscription_count' });
      assertEqual({ status: res.status, body: await res.json() }, { status: 200, body: { channels: { [pres]: { user_count: 2 }, [pub]: { subscription_count: 2 } } } }, 'trigger with socket_id and info');
      await expectDelivery(peers[1], pres, 'node-ev', '{"hello":"wörld"}');
      await expectDelivery(peers[1], pub, 'node-ev', '{"hello":"wörld"}');
      await peers[0].expectNothing(300, (f) => f.event === 'node-ev', 'socket_id-excluded socket received the event');
      const batch = await sdk.triggerBatch([{ channel: pub, name: 'nb1', data: 'x' }, { channel: pres, name: 'nb2', data: { y: 1 }, info: 'user_count' }]);
      assertEqual(await batch.json(), { batch: [{}, { user_count: 2 }] }, 'triggerBatch');
      await expectDelivery(peers[0], pub, 'nb1', 'x');
      await expectDelivery(peers[0], pres, 'nb2', '{"y":1}');
      const info = await sdk.get({ path: `/channels/${pres}`, params: { info: 'user_count' } });
      assertEqual(await info.json(), { occupied: true, user_count: 2 }, 'get /channels/{ch}');
      const userId = uniq('node-user-');
      const u = await connect(ctx);
      const userAuth = sdk.authenticateUser(u.socketId, { id: userId, user_info: { name: 'N' } });
      assertEqual((await u.signin(userAuth.user_data, userAuth.auth)).event, 'pusher:signin_success', 'signin with SDK-made auth');
      await u.subscribeOk(`#server-to-user-${userId}`);
      assertEqual((await sdk.sendToUser(userId, 'direct', { d: 1 })).status, 200, 'sendToUser status');
      await expectDelivery(u, `#server-to-user-${userId}`, 'direct', '{"d":1}');
      assertEqual((await sdk.terminateUserConnections(userId)).status, 200, 'terminateUserConnections status');
      assertEqual((await closedWithin(u, 3000)).code, 4009, 'terminated socket close code');
    },
  },
];
