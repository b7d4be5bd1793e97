// Three Broadcasty nodes on one real redis-server behave as one Pusher server: delivery, presence,
// client events, socket_id exclusion, the HTTP API, quotas, rate limits and terminate_connections
// across nodes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type PusherServer from 'pusher';
import type { PresenceChannel } from 'pusher-js';
import { RawClient } from './support/in-process.js';
import { APP, Client, rawSubscriber, sdk, sleep, startNode, startNodes, until, type Node } from './support/cluster.js';
import { justAfterSecondBoundary } from './support/clock.js';
import { RedisServer } from './support/redis.js';

const QUOTA_APP = { id: 'quota-id', key: 'quota-key', secret: 'quota-secret' };
const RATED_APP = { id: 'rated-id', key: 'rated-key', secret: 'rated-secret' };

describe('three nodes on one Redis', () => {
  let redis: RedisServer;
  let nodes: Node[];
  let ports: number[];
  const clients: Client[] = [];
  const connect = async (port: number, user?: { id: string; info?: Record<string, unknown> }) => {
    const client = await Client.connect(port, user);
    clients.push(client);
    return client;
  };

  before(async () => {
    redis = await RedisServer.start();
    nodes = await startNodes(3, {
      redisUrl: redis.url,
      apps: [
        { ...APP, userAuthentication: true },
        { ...QUOTA_APP, maxConnections: 2 },
        { ...RATED_APP, httpRateLimit: 5 },
      ],
    });
    ports = nodes.map((n) => n.port);
  });

  after(async () => {
    for (const client of clients) client.disconnect();
    await sleep(200); // let the close handshakes finish before the nodes go away
    await Promise.all(nodes.map((n) => n.stop()));
    await redis.stop();
  });

  it('delivers public, private and presence events published on any node to subscribers on every node, once and in order', async () => {
    const [a, b, c] = await Promise.all(ports.map((port, i) => connect(port, { id: `reader-${i}` })));
    const channels = ['news', 'private-orders', 'presence-lobby'];
    for (const client of [a, b, c]) for (const channel of channels) await client.subscribe(channel);
    const received = async (event: string) => {
      const seen = (client: Client, channel: string) => client.events.filter((e) => e.channel === channel && e.event === event).length;
      for (const client of [a, b, c]) {
        for (const channel of channels) await until(() => seen(client, channel) >= 12, 5000, `12 ${event} on ${channel} at :${client.port}`);
      }
      await sleep(200); // a duplicate would arrive meanwhile
      return [a, b, c].map((client) => channels.map((channel) => client.take(channel, event).map((e) => (e.data as { i: number }).i)));
    };
    const twelve = Array.from({ length: 12 }, (_, i) => i);
    // One after the other through different nodes: everyone sees publish order.
    for (const i of twelve) await sdk(ports[i % 3]).trigger(channels, 'tick', { i });
    for (const orders of await received('tick')) for (const order of orders) assert.deepEqual(order, twelve);
    // All at once through different nodes: everyone sees the same single order, each event once.
    await Promise.all(twelve.map((i) => sdk(ports[i % 3]).trigger(channels, 'burst', { i })));
    const bursts = await received('burst');
    for (const orders of bursts) {
      orders.forEach((order, k) => {
        assert.deepEqual([...order].sort((x, y) => x - y), twelve);
        assert.deepEqual(order, bursts[0][k], `${channels[k]}: same order on every node`);
      });
    }
    for (const client of [a, b, c]) for (const channel of channels) client.pusher.unsubscribe(channel);
  });

  it('lists presence members of every node, announces a user once across nodes, and removes them after their last connection anywhere', async () => {
    const channel = 'presence-room';
    const alice = await connect(ports[0], { id: 'alice', info: { name: 'Alice' } });
    await alice.subscribe(channel);
    const bob = await connect(ports[1], { id: 'bob' });
    await bob.subscribe(channel);
    const watcher = await connect(ports[2], { id: 'watcher' });
    const subscription = (await watcher.subscribe(channel)) as PresenceChannel;
    const ids: string[] = [];
    subscription.members.each((m: { id: string }) => ids.push(m.id));
    assert.deepEqual(ids.sort(), ['alice', 'bob', 'watcher']);
    assert.deepEqual(subscription.members.get('alice').info, { name: 'Alice' });

    const carolOne = await connect(ports[0], { id: 'carol' });
    await carolOne.subscribe(channel);
    assert.equal(((await watcher.next(channel, 'pusher_internal:member_added')).data as { user_id: string }).user_id, 'carol');
    const carolTwo = await connect(ports[1], { id: 'carol' });
    await carolTwo.subscribe(channel);
    carolOne.disconnect();
    await sleep(400);
    assert.deepEqual(watcher.take(channel, 'pusher_internal:member_added'), [], 'second connection of a user is not announced');
    assert.deepEqual(watcher.take(channel, 'pusher_internal:member_removed'), [], 'a user with a connection left is not removed');
    carolTwo.disconnect();
    const removed = await watcher.next(channel, 'pusher_internal:member_removed');
    assert.deepEqual(removed.data, { user_id: 'carol' });
  });

  it('relays client events across nodes, never back to the sender', async () => {
    const channel = 'private-chat';
    const [a, b, c] = await Promise.all(ports.map((port) => connect(port)));
    for (const client of [a, b, c]) await client.subscribe(channel);
    a.pusher.channel(channel).trigger('client-typing', { from: 'a' });
    for (const client of [b, c]) assert.deepEqual((await client.next(channel, 'client-typing')).data, { from: 'a' });
    await sleep(200);
    assert.deepEqual(a.take(channel, 'client-typing'), []);
  });

  it('excludes the socket_id given to the HTTP API whichever node holds it', async () => {
    const [a, b, c] = await Promise.all(ports.map((port) => connect(port)));
    for (const client of [a, b, c]) await client.subscribe('updates');
    await sdk(ports[0]).trigger('updates', 'saved', { n: 1 }, { socket_id: b.socketId });
    await sdk(ports[2]).trigger('updates', 'saved', { n: 2 });
    for (const client of [a, c]) assert.deepEqual((await client.next('updates', 'saved')).data, { n: 1 });
    assert.deepEqual((await b.next('updates', 'saved')).data, { n: 2 }, 'the excluded socket got only the second event');
  });

  it('answers the HTTP API identically on every node', async () => {
    const [a, b] = await Promise.all([connect(ports[0], { id: 'api-1' }), connect(ports[1], { id: 'api-2' })]);
    await a.subscribe('presence-api');
    await b.subscribe('presence-api');
    await a.subscribe('api-news');
    await b.subscribe('api-news');
    const answers = await Promise.all(
      ports.map(async (port) => {
        const api = sdk(port);
        const read = async (path: string, params = {}) => (await api.get({ path, params })).json();
        return {
          channels: await read('/channels', { filter_by_prefix: 'api-', info: 'subscription_count' }),
          presence: await read('/channels/presence-api', { info: 'user_count' }),
          users: await read('/channels/presence-api/users'),
          news: await read('/channels/api-news', { info: 'subscription_count' }),
        };
      }),
    );
    assert.deepEqual(answers[0].news, { occupied: true, subscription_count: 2 });
    assert.deepEqual(answers[0].presence, { occupied: true, user_count: 2 });
    assert.deepEqual((answers[0].users as { users: { id: string }[] }).users.map((u) => u.id).sort(), ['api-1', 'api-2']);
    assert.deepEqual(answers[1], answers[0]);
    assert.deepEqual(answers[2], answers[0]);
  });

  it('enforces maxConnections across the cluster', async () => {
    const first = await RawClient.connect(ports[0], QUOTA_APP.key);
    await first.established();
    const second = await RawClient.connect(ports[1], QUOTA_APP.key);
    await second.established();
    const third = await RawClient.connect(ports[2], QUOTA_APP.key);
    const error = await third.next((f) => f.event === 'pusher:error');
    assert.equal((error.data as { code: number }).code, 4004);
    first.close();
    await first.closed;
    await sleep(200);
    const fourth = await RawClient.connect(ports[2], QUOTA_APP.key);
    await fourth.established();
    second.close();
    fourth.close();
  });

  it('enforces the HTTP API rate limit across the cluster: one window for all nodes', async () => {
    await justAfterSecondBoundary();
    const statuses = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        sdk(ports[i % 3], RATED_APP)
          .trigger('rated', 'tick', { i })
          .then(
            (response) => ({ status: response.status, body: '' }),
            (error: PusherServer.RequestError) => ({ status: error.status, body: error.body ?? '' }),
          ),
      ),
    );
    assert.equal(statuses.filter((s) => s.status === 200).length, 5, JSON.stringify(statuses));
    const refused = statuses.filter((s) => s.status === 429);
    assert.equal(refused.length, 7, JSON.stringify(statuses));
    for (const r of refused) assert.match(r.body, /at most 5 per second/);
    await sleep(1100);
    assert.equal((await sdk(ports[1], RATED_APP).trigger('rated', 'tick', {})).status, 200, 'the next second is a new window');
  });

  it('terminates a user’s connections on every node', async () => {
    // Raw sockets: pusher-js leaves a 30 s close timer behind after a server-side close.
    const signedIn = await Promise.all(
      ports.slice(0, 2).map(async (port) => {
        const client = await RawClient.connect(port);
        const socketId = await client.established();
        client.send({ event: 'pusher:signin', data: sdk(port).authenticateUser(socketId, { id: 'leaving' }) });
        await client.next((f) => f.event === 'pusher:signin_success');
        return client;
      }),
    );
    await sdk(ports[2]).terminateUserConnections('leaving');
    for (const client of signedIn) assert.equal((await client.closed).code, 4009);

  });
});

describe('--workers 2', () => {
  it('runs two workers on one port that relay each other’s events, restarts a crashed one, and drains both on SIGTERM', async () => {
    const redis = await RedisServer.start();
    const inspect = new Redis(redis.url);
    const node = await startNode({ redisUrl: redis.url, redisPrefix: 'workers' }, ['--workers', '2']);
    try {
      assert.equal(node.cli.stdout().split('Broadcasty listening on').length, 2, 'the listening line is printed once');
      // Node ids are host-pid-random.generation; a node's connection counter is `c\n{app}\n`.
      const workers = async () => {
        const ids = await inspect.zrange('{workers}:nodes', 0, -1);
        const counts = await Promise.all(ids.map((id) => inspect.hget(`{workers}:node:${id}`, `c\n${APP.id}\n`)));
        return ids.map((id, i) => ({ pid: Number(id.split('-').at(-2)), connections: Number(counts[i] ?? 0) }));
      };
      const clients: RawClient[] = [];
      // The kernel spreads connections over the SO_REUSEPORT listeners: connect until both hold some.
      while ((await workers()).filter((w) => w.connections > 0).length < 2) {
        assert.ok(clients.length < 30, `all ${clients.length} connections landed on one worker`);
        clients.push(await rawSubscriber(node.port, ['private-workers']));
      }
      clients[0].send({ event: 'client-ping', channel: 'private-workers', data: { from: 0 } });
      for (const client of clients.slice(1)) await client.next((f) => f.event === 'client-ping');

      const before = (await workers()).map((w) => w.pid);
      process.kill(before[0], 'SIGKILL');
      await until(async () => (await workers()).some((w) => !before.includes(w.pid)), 8000, 'a replacement worker');
      assert.equal((await fetch(`http://127.0.0.1:${node.port}/ready`)).status, 200);

      const survivors = clients.filter((c) => c.ws.readyState === c.ws.OPEN);
      await node.stop();
      assert.equal(await node.cli.exited, 0);
      for (const client of survivors) assert.equal((await client.closed).code, 4200);
    } finally {
      await node.kill();
      inspect.disconnect();
      await redis.stop();
    }
  });
});
