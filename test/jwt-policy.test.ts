// Tenants and roles on the Pusher protocol (docs/PROTOCOL.md §14.3, §14.4), attacks first: a
// principal never reaches another tenant's channel whatever the name's shape; RBAC defaults, a
// rules file and a resolver module decide the rest (403 with the reason); client events need
// permission and are limited per user; an `hmac` app and HMAC auth in `both` mode work as before.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signChannel } from '../protocol/index.js';
import { pino } from 'pino';
import { loadConfig } from '../src/config/load.js';
import { startServer, type RunningServer } from '../src/server.js';
import { justAfterSecondBoundary } from './support/clock.js';
import { APP, Client, sdk, until } from './support/cluster.js';
import { RawClient, startTestServer, type Frame } from './support/in-process.js';
import { jwtPusher, refusal, subscribeRaw } from './support/jwt-clients.js';
import { broadcasty, jwtApp, mintToken, type Claims } from './support/jwt.js';
import { RedisServer } from './support/redis.js';
import { scratchDir } from './support/scratch.js';

const DEFAULTS_APP = { id: 'defaults-app', key: 'defaults-key', secret: 'defaults-secret' };
const RULES_APP = { id: 'rules-app', key: 'rules-key', secret: 'rules-secret' };
const RESOLVER_APP = { id: 'resolver-app', key: 'resolver-key', secret: 'resolver-secret' };
const BOTH_APP = { id: 'both-app', key: 'both-key', secret: 'both-secret' };
const RESOLVER = join(import.meta.dirname, 'fixtures', 'jwt-resolver.mjs');
const OTHER_TENANT = { status: 403, error: 'channel belongs to another tenant' };
const OK = { status: 200, error: '' };

const outcome = (frame: Frame) => refusal(frame) ?? OK;
const CHATTY = { sub: 'chatty', roles: ['member'] };
const QUIET = { sub: 'quiet', roles: ['member'] };

/**
 * Two sockets of one user whisper 4 times within a second against perUser 3: one gets 4301,
 * the third socket (another user) gets the 3 allowed. Resolves to that listener.
 */
async function assertPerUserLimit(connect: () => Promise<RawClient[]>): Promise<RawClient> {
  const channel = 'private-tenant.acme.chat';
  const [first, second, listener] = await connect();
  for (const client of [first, second, listener]) assert.deepEqual(outcome(await subscribeRaw(client, channel, '')), OK);
  await justAfterSecondBoundary();
  for (let i = 0; i < 4; i++) (i % 2 === 0 ? first : second).send({ event: 'client-n', channel, data: { i } });
  const limited = await Promise.race([first, second].map((client) => client.next((f) => f.event === 'pusher:error')));
  assert.equal((limited.data as { code: number }).code, 4301);
  for (let i = 0; i < 3; i++) await listener.next((f) => f.event === 'client-n');
  return listener;
}

/** Raw sockets signed in at connect as a token's principal (or not signed in), closed at the end. */
class Sockets {
  readonly open: RawClient[] = [];
  private readonly ids = new Map<RawClient, string>();

  async connect(port: number, app: { key: string }, claims?: Claims): Promise<RawClient> {
    const query = claims === undefined ? 'protocol=7' : `protocol=7&token=${await mintToken(claims)}`;
    const client = await RawClient.connect(port, app.key, query);
    this.open.push(client);
    this.ids.set(client, await client.established());
    if (claims !== undefined) await client.next((f) => f.event === 'pusher:signin_success');
    return client;
  }

  socketIdOf(client: RawClient): string {
    return this.ids.get(client)!;
  }

  closeAll(): void {
    for (const client of this.open) client.close();
  }
}

describe('JWT tenancy and RBAC on the Pusher protocol', () => {
  let server: RunningServer;
  let port: number;
  const sockets = new Sockets();
  const socket = (app: { key: string }, claims?: Claims) => sockets.connect(port, app, claims);
  const socketIdOf = (client: RawClient) => sockets.socketIdOf(client);

  before(async () => {
    const rulesFile = join(scratchDir('jwt-policy'), 'rules.json');
    writeFileSync(
      rulesFile,
      JSON.stringify({
        rules: [
          { channel: 'private-tenant.{tid}.inbox.{sub}', actions: ['subscribe', 'client-event'], roles: ['*'] },
          { channel: 'private-tenant.{tid}.inbox.*', actions: ['*'], roles: ['*'], effect: 'deny' },
          { channel: 'private-tenant.{tid}.*', actions: ['subscribe'], roles: ['banned'], effect: 'deny' },
          { channel: 'private-tenant.{tid}.ops', actions: ['subscribe'], roles: ['ops'] },
          { channel: 'private-tenant.{tid}.*', actions: ['subscribe'], roles: ['*'] },
        ],
      }),
    );
    server = await startTestServer({
      apps: [
        { ...APP },
        jwtApp({}, { sharedChannels: ['private-shared.*'], rateLimits: { perUser: 3 } }, DEFAULTS_APP),
        jwtApp({}, { rulesFile }, RULES_APP),
        jwtApp({ history: [{ channels: ['tenant.acme.*'] }] }, { resolver: RESOLVER }, RESOLVER_APP),
        jwtApp({ authMode: 'both' }, {}, BOTH_APP),
      ],
    });
    port = server.port;
  });

  after(async () => {
    sockets.closeAll();
    await server.shutdown();
  });

  it('refuses another tenant\'s channel whatever its shape (403), with a token in auth or signed in', async () => {
    const signedIn = await socket(DEFAULTS_APP, { sub: 'alice', tid: 'acme', roles: ['member', 'admin'] });
    const token = await mintToken({ sub: 'alice', tid: 'acme', roles: ['member', 'admin'] });
    const foreign = [
      'private-tenant.globex.x',
      'presence-tenant.globex.x',
      'private-cache-tenant.globex.x',
      'presence-cache-tenant.globex.x',
      'tenant.globex.x',
      'cache-tenant.globex.x',
      'private-tenant.globex.acme.x',
      'private-tenant.globex',
      'private-tenant..acme',
      'private-Tenant.globex.x',
      'private-TENANT.globex.x',
      'private-tenant.ACME.x',
      'tenant.Acme.x',
    ];
    for (const channel of foreign) {
      assert.deepEqual(outcome(await subscribeRaw(signedIn, channel, '')), OTHER_TENANT, `${channel}, signed in`);
      assert.deepEqual(outcome(await subscribeRaw(signedIn, `${channel}.2`, token)), OTHER_TENANT, `${channel}, token in auth`);
    }
    // The app's own HMAC signature does not open another tenant's encrypted channel to a principal.
    const encrypted = 'private-encrypted-tenant.globex.vault';
    const signed = signChannel(DEFAULTS_APP.key, DEFAULTS_APP.secret, socketIdOf(signedIn), encrypted);
    assert.deepEqual(outcome(await subscribeRaw(signedIn, encrypted, signed)), OTHER_TENANT);
    assert.deepEqual(outcome(await subscribeRaw(signedIn, 'private-tenant.acme.orders', '')), OK);
  });

  it('keeps subscribers without a token off tenant channels (§14.3): all of them in jwt mode, public ones in both', async () => {
    const anonymous = await socket(DEFAULTS_APP);
    assert.equal(outcome(await subscribeRaw(anonymous, 'tenant.acme.news')).status, 403);
    assert.deepEqual(outcome(await subscribeRaw(anonymous, 'news')), OK);
    const hmacOnly = await socket(BOTH_APP);
    const socketId = socketIdOf(hmacOnly);
    assert.equal(outcome(await subscribeRaw(hmacOnly, 'tenant.acme.news')).status, 403);
    const signed = sdk(port, BOTH_APP).authorizeChannel(socketId, 'private-tenant.acme.orders').auth;
    assert.deepEqual(outcome(await subscribeRaw(hmacOnly, 'private-tenant.acme.orders', signed)), OK);
  });

  it('applies the default roles: member for private and presence, public reads open, untenanted channels only when shared', async () => {
    const member = await socket(DEFAULTS_APP, { sub: 'bob', roles: ['member'] });
    const guest = await socket(DEFAULTS_APP, { sub: 'gus', roles: [] });
    assert.deepEqual(outcome(await subscribeRaw(member, 'private-tenant.acme.orders', '')), OK);
    assert.deepEqual(outcome(await subscribeRaw(member, 'presence-tenant.acme.room', '')), OK);
    assert.deepEqual(outcome(await subscribeRaw(guest, 'private-tenant.acme.orders', '')), {
      status: 403,
      error: 'subscribe on private-tenant.acme.orders needs role member',
    });
    assert.deepEqual(outcome(await subscribeRaw(guest, 'presence-tenant.acme.room', '')), { status: 403, error: 'presence on presence-tenant.acme.room needs role member' });
    assert.deepEqual(outcome(await subscribeRaw(guest, 'tenant.acme.news')), OK);
    assert.deepEqual(outcome(await subscribeRaw(guest, 'news')), OK);
    assert.equal(outcome(await subscribeRaw(member, 'private-orders', '')).status, 403);
    assert.deepEqual(outcome(await subscribeRaw(member, 'private-shared.status', '')), OK);
  });

  it('follows a rules file: {sub}/{tid} placeholders match literally, first matching rule decides', async () => {
    const alice = await socket(RULES_APP, { sub: 'alice', roles: ['member'] });
    const star = await socket(RULES_APP, { sub: '*', roles: ['member'] });
    const dot = await socket(RULES_APP, { sub: '.', roles: ['member'] });
    const banned = await socket(RULES_APP, { sub: 'mallory', roles: ['member', 'banned'] });
    assert.deepEqual(outcome(await subscribeRaw(alice, 'private-tenant.acme.inbox.alice', '')), OK);
    assert.deepEqual(outcome(await subscribeRaw(alice, 'private-tenant.acme.inbox.bob', '')), {
      status: 403,
      error: 'subscribe on private-tenant.acme.inbox.bob denied by rule private-tenant.{tid}.inbox.*',
    });
    // A claim of `*` or `.` is not a wildcard.
    assert.equal(outcome(await subscribeRaw(star, 'private-tenant.acme.inbox.bob', '')).status, 403);
    assert.equal(outcome(await subscribeRaw(dot, 'private-tenant.acme.inbox.b', '')).status, 403);
    assert.deepEqual(outcome(await subscribeRaw(dot, 'private-tenant.acme.inbox..', '')), OK);
    assert.equal(outcome(await subscribeRaw(banned, 'private-tenant.acme.orders', '')).status, 403);
    assert.deepEqual(outcome(await subscribeRaw(alice, 'private-tenant.acme.orders', '')), OK);
    assert.deepEqual(outcome(await subscribeRaw(alice, 'private-tenant.acme.ops', '')), { status: 403, error: 'subscribe on private-tenant.acme.ops needs role ops' });
    // No rule for presence: only public reads are left.
    assert.equal(outcome(await subscribeRaw(alice, 'presence-tenant.acme.room', '')).status, 403);
  });

  it('asks a resolver module, after the tenant check; its failures deny with a clear message', async () => {
    const vip = await socket(RESOLVER_APP, { sub: 'vera', roles: ['vip'] });
    const plain = await socket(RESOLVER_APP, { sub: 'paul', roles: [] });
    assert.deepEqual(outcome(await subscribeRaw(vip, 'private-tenant.acme.lounge.vip', '')), OK);
    assert.deepEqual(outcome(await subscribeRaw(plain, 'private-tenant.acme.lounge.vip', '')), { status: 403, error: 'paul of acme is not a vip (subscribe)' });
    assert.deepEqual(outcome(await subscribeRaw(vip, 'private-tenant.acme.x.closed', '')), { status: 403, error: 'subscribe on private-tenant.acme.x.closed denied' });
    assert.deepEqual(outcome(await subscribeRaw(vip, 'private-tenant.acme.x.broken', '')), {
      status: 403,
      error: 'subscribe on private-tenant.acme.x.broken denied: the authorization resolver failed',
    });
    // The resolver allows everything else, but never another tenant's channel.
    assert.deepEqual(outcome(await subscribeRaw(vip, 'private-tenant.globex.lounge', '')), OTHER_TENANT);
  });

  it('takes the partition count of a history channel from the resolver', async () => {
    const reader = await socket(RESOLVER_APP, { sub: 'rita', roles: [] });
    const wide = (await subscribeRaw(reader, 'tenant.acme.wide.feed')) as Frame & { positions?: unknown[] };
    assert.equal(wide.positions?.length, 4);
    const narrow = (await subscribeRaw(reader, 'tenant.acme.feed')) as Frame & { positions?: unknown[]; offset?: number };
    assert.equal(narrow.positions, undefined);
    assert.equal(typeof narrow.offset, 'number');
  });

  it('asks the principal that authorized a subscription about its whispers: an HMAC one in both mode stays the app\'s', async () => {
    // Signed in with a JWT, alice holds a subscription the app signed: the JWT's policy (which
    // keeps principals off untenanted channels) does not decide its whispers, the app did.
    const alice = await socket(BOTH_APP, { sub: 'alice', roles: ['member'] });
    const listener = await socket(BOTH_APP);
    const signed = 'private-orders';
    for (const client of [alice, listener]) {
      const auth = sdk(port, BOTH_APP).authorizeChannel(socketIdOf(client), signed).auth;
      assert.deepEqual(outcome(await subscribeRaw(client, signed, auth)), OK);
    }
    alice.send({ event: 'client-typing', channel: signed, data: { by: 'alice' } });
    assert.deepEqual(JSON.parse((await listener.next((f) => f.event === 'client-typing')).data as string), { by: 'alice' });
    // The same socket's subscription authorized by its JWT (empty auth) is the principal's.
    assert.equal(outcome(await subscribeRaw(alice, 'private-shared.x', '')).status, 403);
    // A presence subscription the app signed without channel_data joins the signed-in user by its `sub`.
    const room = 'presence-room';
    const joined = await subscribeRaw(alice, room, sdk(port, BOTH_APP).authorizeChannel(socketIdOf(alice), room).auth);
    assert.deepEqual((JSON.parse(joined.data as string) as { presence: { ids: string[] } }).presence.ids, ['alice']);

    const sender = await socket(RULES_APP, { sub: 'alice', roles: ['member'] });
    const receiver = await socket(RULES_APP, { sub: 'alice', roles: ['member'] });
    const inbox = 'private-tenant.acme.inbox.alice';
    const orders = 'private-tenant.acme.orders';
    for (const client of [sender, receiver]) {
      for (const channel of [inbox, orders]) assert.deepEqual(outcome(await subscribeRaw(client, channel, '')), OK);
    }
    sender.send({ event: 'client-typing', channel: orders, data: {} });
    assert.deepEqual((await sender.next((f) => f.event === 'pusher:error')).data, {
      code: null,
      message: 'Client event rejected - client-event on private-tenant.acme.orders is not allowed',
    });
    sender.send({ event: 'client-typing', channel: inbox, data: { n: 1 } });
    assert.deepEqual((await receiver.next((f) => f.event === 'client-typing')).channel, inbox);
  });

  it('matches {sub}/{tid} rules without building a RegExp per client event', async () => {
    const sender = await socket(RULES_APP, { sub: 'rex', roles: ['member'] });
    const receiver = await socket(RULES_APP, { sub: 'rex', roles: ['member'] });
    const inbox = 'private-tenant.acme.inbox.rex';
    for (const client of [sender, receiver]) assert.deepEqual(outcome(await subscribeRaw(client, inbox, '')), OK);
    const NativeRegExp = globalThis.RegExp;
    let built = 0;
    globalThis.RegExp = new Proxy(NativeRegExp, {
      construct(target, args: [string, string?]) {
        built += 1;
        return Reflect.construct(target, args) as object;
      },
    });
    try {
      for (let n = 0; n < 5; n++) sender.send({ event: 'client-typing', channel: inbox, data: { n } });
      for (let n = 0; n < 5; n++) await receiver.next((f) => f.event === 'client-typing' && f.data === JSON.stringify({ n }));
    } finally {
      globalThis.RegExp = NativeRegExp;
    }
    assert.equal(built, 0);
  });

  it('limits client events per user across their connections (4301 over jwt.rateLimits.perUser)', async () => {
    await assertPerUserLimit(() => Promise.all([socket(DEFAULTS_APP, CHATTY), socket(DEFAULTS_APP, CHATTY), socket(DEFAULTS_APP, QUIET)]));
  });

  it('leaves HMAC apps as they were, and HMAC auth working beside JWTs in both mode', async () => {
    for (const app of [APP, BOTH_APP]) {
      const client = await Client.connect(port, { id: 'hmac-user', info: { name: 'H' } }, app);
      await client.subscribe('private-orders');
      await client.subscribe('presence-room');
      await client.subscribe('news');
      client.disconnect();
    }
    // A JWT through pusher-js's custom handler in both mode, beside the signatures.
    const pusher = jwtPusher(port, BOTH_APP.key, { channel: () => mintToken({ sub: 'jay' }) });
    await new Promise((resolve) => pusher.subscribe('private-tenant.acme.orders').bind('pusher:subscription_succeeded', resolve));
    pusher.disconnect();
  });
});

describe('JWT guards across nodes (RedisEngine)', () => {
  let redis: RedisServer;
  let nodes: RunningServer[];
  const sockets = new Sockets();

  before(async () => {
    redis = await RedisServer.start();
    const config = { redisUrl: redis.url, apps: [jwtApp({}, { rateLimits: { perUser: 3 } }, DEFAULTS_APP)] };
    nodes = await Promise.all([startTestServer(config), startTestServer(config)]);
  });

  after(async () => {
    sockets.closeAll();
    await Promise.all(nodes.map((node) => node.shutdown()));
    await redis.stop();
  });

  it('limits a user\'s client events over all nodes and refuses on every node a token revoked on one', async () => {
    const listener = await assertPerUserLimit(() =>
      Promise.all([
        sockets.connect(nodes[0].port, DEFAULTS_APP, CHATTY),
        sockets.connect(nodes[1].port, DEFAULTS_APP, CHATTY),
        sockets.connect(nodes[1].port, DEFAULTS_APP, QUIET),
      ]),
    );
    const token = await mintToken({ sub: 'lost', jti: 'lost-laptop' });
    assert.deepEqual(outcome(await subscribeRaw(listener, 'private-tenant.acme.a', token)), OK);
    await nodes[0].ctx.engine.revokeToken(DEFAULTS_APP.id, 'lost-laptop', Date.now() + 60_000);
    assert.deepEqual(outcome(await subscribeRaw(listener, 'private-tenant.acme.b', token)), { status: 401, error: 'token revoked' });
  });

  it('answers a JWT subscribe or signin while Redis is down with why (503 subscription_error), and the socket stays', async () => {
    const client = await sockets.connect(nodes[0].port, DEFAULTS_APP);
    await redis.stop();
    await until(() => nodes[0].ctx.engine.health() === 'degraded', 10_000, 'the node sees Redis gone');
    const token = await mintToken({ sub: 'during', jti: 'during-outage' });
    const unavailable = "Service unavailable: the cluster's Redis is out of reach, so nonces and revoked tokens cannot be checked cluster-wide; retry later";
    const answer = await subscribeRaw(client, 'private-tenant.acme.outage', token);
    assert.deepEqual(JSON.parse(answer.data as string), { type: 'ServiceUnavailable', error: unavailable, status: 503 });
    client.send({ event: 'pusher:signin', data: { auth: token } });
    assert.deepEqual((await client.next((f) => f.event === 'pusher:error' && f.channel === undefined)).data, { code: null, message: unavailable });
    client.send({ event: 'pusher:ping', data: {} });
    await client.next((f) => f.event === 'pusher:pong');
    await redis.restart();
  });
});

describe('JWT apps from a registry (not checked at start)', () => {
  it('denies with a clear message, and logs an error naming app and setting, when the rules file or resolver cannot be used', async () => {
    const dir = scratchDir('jwt-registry');
    const appsFile = join(dir, 'apps.json');
    const broken = [
      { app: RULES_APP, setting: 'rulesFile', jwt: { rulesFile: join(dir, 'missing-rules.json') } },
      { app: RESOLVER_APP, setting: 'resolver', jwt: { resolver: join(dir, 'missing-resolver.mjs') } },
    ];
    writeFileSync(appsFile, JSON.stringify({ apps: broken.map(({ app, jwt }) => jwtApp({}, jwt, app)) }));
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'error' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const server = await startServer(loadConfig({ env: {}, overrides: { host: '127.0.0.1', port: 0, appRegistry: 'json', appsFile } }), { log });
    const registrySockets = new Sockets();
    try {
      for (const { app, setting } of broken) {
        const denied = (action: string, channel: string) => `${action} on ${channel} denied: the app's jwt.${setting} cannot be used`;
        const client = await registrySockets.connect(server.port, app, { sub: 'ann' });
        assert.deepEqual(outcome(await subscribeRaw(client, 'private-tenant.acme.orders', '')), { status: 403, error: denied('subscribe', 'private-tenant.acme.orders') });
        const token = await mintToken({ sub: 'ann', roles: ['publisher'] });
        const reply = await broadcasty(server.port, 'POST', 'publish', { appKey: app.key, token, body: { channel: 'tenant.acme.news', event: 'e', data: 'x' } });
        assert.deepEqual([reply.status, reply.body], [403, { error: denied('publish', 'tenant.acme.news') }]);
        assert.ok(
          lines.some((line) => line.level === 50 && line.appId === app.id && line.setting === `jwt.${setting}`),
          `an error log names ${app.id} and jwt.${setting}: ${JSON.stringify(lines)}`,
        );
      }
    } finally {
      registrySockets.closeAll();
      await server.shutdown();
    }
  });
});
