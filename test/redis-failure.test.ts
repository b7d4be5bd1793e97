// What happens when things die: a node killed with -9 (its members are removed and announced
// within nodeTtl), Redis going away and coming back (local delivery meanwhile, /ready 503, then
// the cluster heals without restarts), and deployments and apps sharing one Redis unseen.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { PresenceChannel } from 'pusher-js';
import { APP, Client, rawSubscriber, sdk, sleep, startNode, startNodes, triggerRaw, until, type Node } from './support/cluster.js';
import { RedisServer } from './support/redis.js';
import { WebhookReceiver } from './support/webhook-receiver.js';

const NODE_TTL = 2;

async function readyStatus(port: number): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`http://127.0.0.1:${port}/ready`);
  return { status: response.status, body: await response.json() };
}

async function userIds(port: number, channel: string): Promise<string[]> {
  const body = (await (await sdk(port).get({ path: `/channels/${channel}/users` })).json()) as { users: { id: string }[] };
  return body.users.map((u) => u.id).sort();
}

describe('failures', () => {
  let redis: RedisServer;
  const nodes: Node[] = [];
  const clients: Client[] = [];
  const connect = async (port: number, user?: { id: string }, app = APP) => {
    const client = await Client.connect(port, user, app);
    clients.push(client);
    return client;
  };

  // The nodes of the first test send webhooks here for the rest of the suite.
  let receiver: WebhookReceiver;

  before(async () => {
    redis = await RedisServer.start();
    receiver = await WebhookReceiver.start([APP]);
  });

  after(async () => {
    for (const client of clients) client.disconnect();
    await sleep(200); // let the close handshakes finish before the nodes go away
    await Promise.all(nodes.map((n) => n.stop()));
    await redis.stop();
    await receiver.close();
  });

  it('removes and announces the presence members of a node killed with -9 within nodeTtl, sends their webhooks once; the others keep serving', async () => {
    const app = { ...APP, subscriptionCount: true, webhooks: [{ url: receiver.url('/crash') }] };
    nodes.push(...(await startNodes(3, { redisUrl: redis.url, redisPrefix: 'crash', nodeTtl: NODE_TTL, webhookDelayMs: 200, apps: [app] })));
    const [one, two, doomed] = nodes.map((n) => n.port);
    const watcherOne = await connect(one, { id: 'watcher-1' });
    const watcherTwo = await connect(two, { id: 'watcher-2' });
    for (const watcher of [watcherOne, watcherTwo]) {
      await watcher.subscribe('presence-crash');
      await watcher.subscribe('crash-news');
    }
    // 'ghost' only lives on the doomed node; 'both' also has a connection on a survivor.
    await rawSubscriber(doomed, ['presence-crash', 'crash-news', 'crash-only'], 'ghost');
    await rawSubscriber(doomed, ['presence-crash'], 'both');
    const survivor = await rawSubscriber(one, ['presence-crash'], 'both');
    assert.deepEqual(await userIds(one, 'presence-crash'), ['both', 'ghost', 'watcher-1', 'watcher-2']);
    for (const watcher of [watcherOne, watcherTwo]) watcher.take('presence-crash', 'pusher_internal:member_added');
    await sleep(300); // the set-up's own webhooks arrive before the kill

    const killedAt = Date.now();
    await nodes[2].kill();
    for (const watcher of [watcherOne, watcherTwo]) {
      const removed = await watcher.next('presence-crash', 'pusher_internal:member_removed', NODE_TTL * 1000 + 2000);
      assert.deepEqual(removed.data, { user_id: 'ghost' });
    }
    const elapsed = Date.now() - killedAt;
    assert.ok(elapsed <= NODE_TTL * 1000 + 500, `member_removed ${elapsed} ms after the kill; nodeTtl is ${NODE_TTL} s`);
    assert.deepEqual(await userIds(two, 'presence-crash'), ['both', 'watcher-1', 'watcher-2']);
    const news = (await (await sdk(two).get({ path: '/channels/crash-news', params: { info: 'subscription_count' } })).json()) as object;
    assert.deepEqual(news, { occupied: true, subscription_count: 2 });
    assert.equal(((watcherOne.pusher.channel('presence-crash') as PresenceChannel).members as { count: number }).count, 3);

    await sdk(two).trigger('crash-news', 'still-here', {});
    for (const watcher of [watcherOne, watcherTwo]) await watcher.next('crash-news', 'still-here');
    await sleep(300);
    for (const watcher of [watcherOne, watcherTwo]) assert.deepEqual(watcher.take('presence-crash', 'pusher_internal:member_removed'), [], "'both' stays");

    // The leaves the dead node never reported: webhooks from one survivor, subscription_count to the rest.
    const counts: unknown[] = [];
    await until(
      async () => {
        counts.push(...watcherOne.take('crash-news', 'pusher_internal:subscription_count').map((e) => e.data));
        return counts.some((d) => (d as { subscription_count: number }).subscription_count === 2);
      },
      5000,
      'subscription_count 2 on crash-news',
    );
    const afterKill = () => receiver.events('/crash').filter((e) => e.at >= killedAt);
    await receiver.until('the dead node’s webhooks', () => afterKill().length >= 4);
    await sleep(1000); // a second survivor sending them too would show up by now
    const sorted = afterKill()
      .map(({ at: _at, ...event }) => event)
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    assert.deepEqual(sorted, [
      { name: 'channel_vacated', channel: 'crash-only' },
      { name: 'member_removed', channel: 'presence-crash', user_id: 'ghost' },
      { name: 'subscription_count', channel: 'crash-news', subscription_count: 2 },
      { name: 'subscription_count', channel: 'crash-only', subscription_count: 0 },
    ].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))));
    assert.ok(receiver.delivered('/crash').every((d) => d.valid), 'every webhook passes the SDK check');
    survivor.close();
  });

  it('keeps serving its sockets while Redis is down, refuses HTTP events with 503, answers /ready 503, and heals when Redis is back', async () => {
    const [one, two] = nodes.slice(0, 2).map((n) => n.port);
    const a = await connect(one, { id: 'outage-a' });
    const b = await connect(two, { id: 'outage-b' });
    for (const client of [a, b]) {
      await client.subscribe('outage');
      await client.subscribe('presence-outage');
    }
    const neighbour = await connect(one, { id: 'outage-c' });
    await neighbour.subscribe('presence-outage');
    await redis.stop();
    for (const port of [one, two]) {
      const ready = await until(async () => {
        const r = await readyStatus(port);
        return r.status === 503 ? r : undefined;
      }, 5000, `/ready 503 at :${port}`);
      assert.deepEqual(ready?.body, { ready: false, engine: 'degraded' });
    }
    // Delivered on this node only, it would be lost for the other: the publisher is told to retry.
    const refused = await triggerRaw(one, 'outage', 'during', { n: 1 });
    assert.deepEqual([refused.status, refused.retryAfter], [503, '2']);
    // Client events are ephemeral: they still reach the sender's node, and no other.
    a.pusher.channel('presence-outage').trigger('client-typing', { by: 'a' });
    assert.deepEqual((await neighbour.next('presence-outage', 'client-typing')).data, { by: 'a' });

    await redis.restart();
    for (const port of [one, two]) await until(async () => (await readyStatus(port)).status === 200, 8000, `/ready 200 at :${port}`);
    await sdk(two).trigger('outage', 'after', { n: 2 });
    for (const client of [a, b]) assert.deepEqual((await client.next('outage', 'after')).data, { n: 2 });
    // Redis came back empty: each node registered its own sockets again.
    assert.deepEqual(await userIds(one, 'presence-outage'), ['outage-a', 'outage-b', 'outage-c']);
    await sleep(200);
    assert.deepEqual([...a.take('outage', 'during'), ...b.take('outage', 'during')], [], 'the refused publish reached no one');
    assert.deepEqual(b.take('presence-outage', 'client-typing'), [], 'the outage whisper stayed on its node');
  });

  it('declares a node that stalls longer than nodeTtl dead, and announces its members again when it wakes, webhooks included', async () => {
    const [one, two] = nodes.slice(0, 2);
    const watcher = await connect(one.port, { id: 'awake' });
    await watcher.subscribe('presence-stall');
    const sleeper = await rawSubscriber(two.port, ['presence-stall', 'stall-only'], 'sleeper');
    await watcher.next('presence-stall', 'pusher_internal:member_added');
    await sleep(300); // the set-up's own webhooks arrive before the stall
    const stoppedAt = Date.now();
    two.cli.child.kill('SIGSTOP');
    try {
      const removed = await watcher.next('presence-stall', 'pusher_internal:member_removed', NODE_TTL * 1000 + 2000);
      assert.deepEqual(removed.data, { user_id: 'sleeper' });
      assert.deepEqual(await userIds(one.port, 'presence-stall'), ['awake']);
      // Past the webhook delay: a return within it would cancel the leave's webhooks instead.
      await sleep(600);
    } finally {
      two.cli.child.kill('SIGCONT');
    }
    const added = await watcher.next('presence-stall', 'pusher_internal:member_added', 5000);
    assert.equal((added.data as { user_id: string }).user_id, 'sleeper');
    assert.deepEqual(await userIds(one.port, 'presence-stall'), ['awake', 'sleeper']);
    // The app was told the sleeper left and its channel emptied; it is told they are back, in order.
    const since = () =>
      receiver
        .events('/crash')
        .filter((e) => e.at >= stoppedAt && (e.channel === 'presence-stall' || e.channel === 'stall-only'))
        .map((e) => (e.name === 'subscription_count' ? `${e.name}:${e.channel}:${e.subscription_count}` : `${e.name}:${e.channel}`));
    await receiver.until('webhooks of the return', () => since().length >= 6);
    await sleep(500);
    const seen = since();
    const order = (a: string, b: string) => assert.ok(seen.indexOf(a) >= 0 && seen.indexOf(a) < seen.indexOf(b), `${a} before ${b} in ${JSON.stringify(seen)}`);
    order('member_removed:presence-stall', 'member_added:presence-stall');
    order('channel_vacated:stall-only', 'channel_occupied:stall-only');
    order('subscription_count:stall-only:0', 'subscription_count:stall-only:1');
    assert.equal(seen.length, 6, JSON.stringify(seen));
    sleeper.close();
  });

  it('announces the members of a node stopped with SIGTERM at once and takes it out of the cluster', async () => {
    const [one, two] = nodes.slice(0, 2);
    const watcher = await connect(one.port, { id: 'stay' });
    await watcher.subscribe('presence-drain');
    const leaver = await rawSubscriber(two.port, ['presence-drain'], 'leaver');
    await watcher.next('presence-drain', 'pusher_internal:member_added');
    const stoppedAt = Date.now();
    await two.stop();
    assert.equal((await leaver.closed).code, 4200);
    assert.deepEqual((await watcher.next('presence-drain', 'pusher_internal:member_removed', 1500)).data, { user_id: 'leaver' });
    assert.ok(Date.now() - stoppedAt < 1500);
    assert.deepEqual(await userIds(one.port, 'presence-drain'), ['stay']);
    const inspect = new Redis(redis.url);
    const registered = await inspect.zcard('{crash}:nodes');
    const leftovers = await inspect.keys('{crash}:node:*');
    inspect.disconnect();
    assert.equal(registered, 1, 'only the running node is registered');
    assert.equal(leftovers.length, 1, 'the stopped node left no counters behind');
  });

  it('keeps deployments (redisPrefix) and apps sharing one Redis apart', async () => {
    const apps = [APP, { id: 'other-id', key: 'other-key', secret: 'other-secret' }];
    const [alpha, beta] = await Promise.all(['alpha', 'beta'].map((redisPrefix) => startNode({ redisUrl: redis.url, redisPrefix, apps })));
    nodes.push(alpha, beta);
    const alphaApp = await connect(alpha.port);
    const betaApp = await connect(beta.port);
    const alphaOther = await connect(alpha.port, undefined, apps[1]);
    for (const client of [alphaApp, betaApp, alphaOther]) await client.subscribe('shared');

    await sdk(alpha.port).trigger('shared', 'hello', { from: 'alpha' });
    await sdk(beta.port).trigger('shared', 'hello', { from: 'beta' });
    await sdk(alpha.port, apps[1]).trigger('shared', 'hello', { from: 'other' });
    assert.deepEqual((await alphaApp.next('shared', 'hello')).data, { from: 'alpha' });
    assert.deepEqual((await betaApp.next('shared', 'hello')).data, { from: 'beta' });
    assert.deepEqual((await alphaOther.next('shared', 'hello')).data, { from: 'other' });
    await sleep(300);
    for (const client of [alphaApp, betaApp, alphaOther]) assert.deepEqual(client.take('shared', 'hello'), []);
    const count = async (node: Node) =>
      (await (await sdk(node.port).get({ path: '/channels/shared', params: { info: 'subscription_count' } })).json()) as object;
    assert.deepEqual(await count(alpha), { occupied: true, subscription_count: 1 });
    assert.deepEqual(await count(beta), { occupied: true, subscription_count: 1 });

    const inspect = new Redis(redis.url);
    const keys = await inspect.keys('*');
    inspect.disconnect();
    const outside = keys.filter((k) => !/^\{(alpha|beta|crash)\}:/.test(k));
    assert.deepEqual(outside, [], 'every key carries a deployment prefix');
    assert.ok(keys.includes('{alpha}:app:other-id:channels') && keys.includes('{beta}:app:app-id:channels'));
  });
});
