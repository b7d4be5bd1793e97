// Tenant isolation on a cluster (docs/PROTOCOL.md §14.3): two nodes on one real redis-server,
// tenant A's clients try every action on tenant B's channels — subscribe, presence, whisper over
// the WebSocket, publish, presence join and roster, replay over /broadcasty/* — with the plain
// names and crafted variants, through both nodes, while tenant B's clients subscribed on both
// nodes record everything they receive. Expected: every attempt refused with its status, and
// nothing reaches tenant B but tenant B's own markers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sdk, startNodes, type Node } from './support/cluster.js';
import { RawClient, type Frame } from './support/in-process.js';
import { jwtPusher, refusal, subscribeRaw } from './support/jwt-clients.js';
import { broadcasty, JWT_APP, jwtApp, mintToken } from './support/jwt.js';
import { RedisServer } from './support/redis.js';

// The cache channel first: its cache_miss arrives before the next subscription_succeeded.
const B_CHANNELS = ['private-cache-tenant.beta.prices', 'private-tenant.beta.orders', 'presence-tenant.beta.room', 'tenant.beta.news', 'private-tenant.beta.log'];
const OTHER_TENANT = 'channel belongs to another tenant';
/** Names that look like tenant B's, or name no tenant: refused for tenant A like B's own. */
const CRAFTED = [
  'private-tenant.beta',
  'private-tenant.BETA.orders',
  'presence-cache-tenant.beta.room',
  'private-encrypted-tenant.beta.vault',
  'tenant.beta',
  'private-tenant.beta.orders.extra',
  'private-tenant..beta.orders',
];
/** Tenant A's own channel with B's name inside: allowed for A, and no B subscriber is on it. */
const LOOKALIKE = 'private-tenant.acme.x.tenant.beta.orders';
const ALL_ROLES = ['member', 'publisher', 'admin'];
/** The attempts come fast, from one address and user: the rate windows (tested in jwt-http) stay out of the way. */
const UNLIMITED = { rateLimits: { perIp: null, perUser: null, perChannel: null } };

/** A socket connected with `?token=` (signed in as its principal), subscribed to `channels` with its token in `auth`. */
async function tokenSocket(port: number, token: string): Promise<RawClient> {
  const client = await RawClient.connect(port, JWT_APP.key, `protocol=7&client=js&version=8.4.0&flash=false&token=${token}`);
  await client.established();
  return client;
}

async function subscribed(client: RawClient, channel: string, token: string): Promise<void> {
  const answer = await subscribeRaw(client, channel, channel.startsWith('tenant.') ? undefined : token);
  assert.equal(answer.event, 'pusher_internal:subscription_succeeded', `${channel}: ${JSON.stringify(answer)}`);
}

/** A subscribe's refusal as the subscription_error tells it; its in-band pusher:error is taken too. */
async function refused(client: RawClient, channel: string, auth: string): Promise<{ status: number; error: string } | undefined> {
  const answer = refusal(await subscribeRaw(client, channel, auth));
  await client.next((f) => f.event === 'pusher:error' && f.channel === channel);
  return answer;
}

describe('tenant isolation across two nodes on one redis-server', () => {
  let redis: RedisServer;
  let nodes: Node[];
  const sockets: RawClient[] = [];
  let tokenA: string;
  let tokenB: string;
  /** Tenant B's subscribers, one per node, each on every B channel. */
  let receivers: RawClient[];

  before(async () => {
    redis = await RedisServer.start();
    nodes = await startNodes(2, { redisUrl: redis.url, apps: [jwtApp({ history: [{ channels: ['private-tenant.*.log'] }] }, UNLIMITED)] });
    tokenA = await mintToken({ sub: 'mallory', tid: 'acme', roles: ALL_ROLES });
    tokenB = await mintToken({ sub: 'bob', tid: 'beta', roles: ALL_ROLES });
    receivers = [];
    for (const [i, node] of nodes.entries()) {
      const token = await mintToken({ sub: `beta-${i}`, tid: 'beta', roles: ['member'] });
      const client = await tokenSocket(node.port, token);
      sockets.push(client);
      for (const channel of B_CHANNELS) await subscribed(client, channel, token);
      receivers.push(client);
    }
    // Tenant B's own presence: the first receiver saw the second join. Then the slate is clean.
    await receivers[0].next((f) => f.event === 'pusher_internal:member_added', 5000);
    for (const client of receivers) client.frames.length = 0;
  });

  after(async () => {
    for (const socket of sockets) socket.close();
    await Promise.all(nodes.map((node) => node.stop()));
    await redis.stop();
  });

  it('refuses every WebSocket action of tenant A on tenant B channels, through both nodes', async () => {
    for (const node of nodes) {
      const attacker = await tokenSocket(node.port, tokenA);
      sockets.push(attacker);
      for (const channel of [...B_CHANNELS, ...CRAFTED]) {
        const answer = await refused(attacker, channel, tokenA);
        if (channel.startsWith('private-encrypted-')) {
          // Encrypted channels keep HMAC auth (§14.1): a JWT is no signature for them.
          assert.ok(answer?.status === 401 || answer?.status === 403, `${channel}: ${JSON.stringify(answer)}`);
        } else {
          assert.deepEqual(answer, { status: 403, error: OTHER_TENANT }, channel);
        }
      }
      // Signed in as A: an empty auth is authorized from the principal, and still refused.
      assert.deepEqual(await refused(attacker, 'private-tenant.beta.orders', ''), { status: 403, error: OTHER_TENANT });
      // Whispers on channels it could not join, and a whisper on its own channel named like B's.
      for (const channel of ['private-tenant.beta.orders', 'presence-tenant.beta.room']) {
        attacker.send({ event: 'client-whisper', channel, data: { from: 'mallory' } });
        const error = await attacker.next((f) => f.event === 'pusher:error', 5000);
        assert.match((error.data as { message: string }).message, /another tenant|not subscribed/i, channel);
      }
      await subscribed(attacker, LOOKALIKE, tokenA);
      attacker.send({ event: 'client-whisper', channel: LOOKALIKE, data: { from: 'mallory' } });
    }
  });

  it('refuses every /broadcasty/* action of tenant A on tenant B channels with 403, through both nodes', async () => {
    for (const node of nodes) {
      const call = (method: 'GET' | 'POST', endpoint: string, channel: string) =>
        broadcasty(node.port, method, endpoint, method === 'GET' ? { token: tokenA, query: { channel } } : { token: tokenA, body: { channel, event: 'leak', data: 'from A' } });
      for (const channel of B_CHANNELS) {
        for (const [method, endpoint] of [['POST', 'publish'], ['GET', 'replay']] as const) {
          const reply = await call(method, endpoint, channel);
          assert.deepEqual([reply.status, reply.body], [403, { error: OTHER_TENANT }], `${endpoint} ${channel}`);
        }
      }
      for (const [method, endpoint] of [['POST', 'presence/join'], ['POST', 'presence/heartbeat'], ['POST', 'presence/leave'], ['GET', 'presence']] as const) {
        const reply = await call(method, endpoint, 'presence-tenant.beta.room');
        assert.deepEqual([reply.status, reply.body], [403, { error: OTHER_TENANT }], endpoint);
      }
      for (const channel of CRAFTED) {
        for (const [method, endpoint] of [['POST', 'publish'], ['GET', 'replay']] as const) {
          const reply = await call(method, endpoint, channel);
          assert.deepEqual([reply.status, reply.body], [403, { error: OTHER_TENANT }], `${endpoint} ${channel}`);
        }
      }
      // Tenant A's own channel, named to look like B's, takes its publish: it reaches no B subscriber.
      const own = await broadcasty(node.port, 'POST', 'publish', { token: tokenA, body: { channel: LOOKALIKE, event: 'own', data: 'x' } });
      assert.equal(own.status, 200, 'tenant A publishes to its own channels');
    }
  });

  it('tenant B received nothing but its own markers, on both nodes', async () => {
    // Markers from tenant B through each node: once every receiver has them, anything sent before has arrived.
    for (const [i, node] of nodes.entries()) {
      for (const channel of B_CHANNELS) {
        const reply = await broadcasty(node.port, 'POST', 'publish', { token: tokenB, body: { channel, event: 'marker', data: String(i) } });
        assert.equal(reply.status, 200, `${channel}: ${reply.text}`);
      }
    }
    for (const client of receivers) {
      for (const channel of B_CHANNELS) {
        for (const n of ['0', '1']) await client.next((f) => f.channel === channel && f.event === 'marker' && f.data === n, 5000);
      }
    }
    const leaked = receivers.flatMap((client, i) => client.frames.map((f: Frame) => ({ node: i, frame: client.text(f) })));
    assert.deepEqual(leaked, [], '0 cross-tenant deliveries');
  });

  it('signs the same sub of two tenants in as two users: sendToUser and terminate_connections reach one tenant', async () => {
    const { port } = nodes[0];
    const server = sdk(port, JWT_APP);
    const signedIn = async (tid: string) => {
      const client = await tokenSocket(port, await mintToken({ sub: '42', tid }));
      sockets.push(client);
      const success = await client.next((f) => f.event === 'pusher:signin_success');
      assert.equal((JSON.parse((JSON.parse(success.data as string) as { user_data: string }).user_data) as { id: string }).id, `${tid}.42`);
      return client;
    };
    const [acme, beta] = [await signedIn('acme'), await signedIn('beta')];
    // Stock pusher-js signed in as acme's 42: it subscribes #server-to-user-acme.42 and hears sendToUser.
    const pusher = jwtPusher(port, JWT_APP.key, { user: () => mintToken({ sub: '42', tid: 'acme' }) });
    const heard = new Promise((resolve) => pusher.user.bind('note', resolve));
    pusher.signin();
    await pusher.user.signinDonePromise;
    await new Promise((resolve) => pusher.user.serverToUserChannel.bind('pusher:subscription_succeeded', resolve));

    await server.sendToUser('acme.42', 'note', { to: 'acme' });
    await server.sendToUser('beta.42', 'note', { to: 'beta' });
    await server.sendToUser('42', 'note', { to: 'no tenant' });
    assert.deepEqual(await heard, { to: 'acme' });
    pusher.disconnect();
    for (const [client, tid] of [[acme, 'acme'], [beta, 'beta']] as const) {
      await server.sendToUser(`${tid}.42`, 'note', { last: true });
      // Taken last: every note sent before it has arrived, and stays in frames.
      await client.next((f) => f.event === 'note' && f.data === JSON.stringify({ last: true }));
      const notes = client.frames.filter((f) => f.event === 'note').map((f) => [f.channel, JSON.parse(f.data as string)] as const);
      assert.deepEqual(notes, [[`#server-to-user-${tid}.42`, { to: tid }]]);
    }

    await server.terminateUserConnections('acme.42');
    assert.equal((await acme.closed).code, 4009);
    beta.send({ event: 'pusher:ping', data: {} });
    await beta.next((f) => f.event === 'pusher:pong');
  });
});

describe('per-tenant idempotency keys and past revocations across two nodes on one redis-server', () => {
  let redis: RedisServer;
  let nodes: Node[];
  const sockets: RawClient[] = [];

  before(async () => {
    redis = await RedisServer.start();
    nodes = await startNodes(2, { redisUrl: redis.url, apps: [jwtApp({}, UNLIMITED)] });
  });

  after(async () => {
    for (const socket of sockets) socket.close();
    await Promise.all(nodes.map((node) => node.stop()));
    await redis.stop();
  });

  it('the same idempotencyKey from acme and beta publishes for both, through either node; a repeat within a tenant does not', async () => {
    const channels = { acme: 'private-tenant.acme.orders', beta: 'private-tenant.beta.orders' };
    const receivers = { acme: await tokenSocket(nodes[0].port, await mintToken({ sub: 'r', tid: 'acme' })), beta: await tokenSocket(nodes[1].port, await mintToken({ sub: 'r', tid: 'beta' })) };
    sockets.push(receivers.acme, receivers.beta);
    const publish = async (node: Node, tenant: 'acme' | 'beta', data: string, idempotencyKey?: string) => {
      const token = await mintToken({ sub: 'writer', tid: tenant, roles: ['publisher'] });
      const reply = await broadcasty(node.port, 'POST', 'publish', { token, body: { channel: channels[tenant], event: 'keyed', data, idempotencyKey } });
      assert.equal(reply.status, 200, `${tenant} ${data}: ${reply.text}`);
    };
    for (const tenant of ['acme', 'beta'] as const) await subscribed(receivers[tenant], channels[tenant], await mintToken({ sub: 'r', tid: tenant }));
    await publish(nodes[0], 'acme', 'acme first', 'order-1');
    await publish(nodes[1], 'beta', 'beta first', 'order-1');
    await publish(nodes[1], 'acme', 'acme repeat', 'order-1');
    for (const tenant of ['acme', 'beta'] as const) {
      await publish(nodes[0], tenant, 'marker');
      await receivers[tenant].next((f) => f.data === 'marker', 5000);
    }
    const keyed = (client: RawClient) => client.frames.filter((f: Frame) => f.event === 'keyed').map((f: Frame) => f.data);
    assert.deepEqual([keyed(receivers.acme), keyed(receivers.beta)], [['acme first'], ['beta first']]);
  });

  it('POST /apps/{id}/revoked_tokens with expires_at 0 or past is a no-op 200; the node stays ready and revokes later jtis', async () => {
    const signer = sdk(nodes[0].port, JWT_APP);
    // The SDK's typings say string, but it JSON-encodes the body itself: it takes the object.
    const revoke = (jti: string, expiresAt: number) => signer.post({ path: '/revoked_tokens', body: { jti, expires_at: expiresAt } as unknown as string });
    for (const expiresAt of [0, Math.floor(Date.now() / 1000) - 60]) {
      const reply = await revoke('past-jti', expiresAt);
      assert.deepEqual([reply.status, await reply.text()], [200, '{}'], `expires_at ${expiresAt}`);
    }
    assert.equal((await fetch(`http://127.0.0.1:${nodes[0].port}/ready`)).status, 200);
    const token = await mintToken({ sub: 'writer', tid: 'acme', roles: ['publisher'], jti: 'past-jti' });
    const body = { channel: 'private-tenant.acme.orders', event: 'e', data: 'x' };
    assert.equal((await broadcasty(nodes[1].port, 'POST', 'publish', { token, body })).status, 200, 'a past revocation refuses nothing');
    assert.equal((await revoke('past-jti', Math.floor(Date.now() / 1000) + 600)).status, 200);
    const refused = await broadcasty(nodes[1].port, 'POST', 'publish', { token, body });
    assert.deepEqual([refused.status, refused.body], [401, { error: 'token revoked' }]);
  });
});
