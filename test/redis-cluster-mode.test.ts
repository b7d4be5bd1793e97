// Broadcasty nodes on a real three-master Redis Cluster (redis+cluster://): every key of a
// deployment shares one hash slot, so the scripts, pipelines and pub/sub work as on one Redis.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { APP, Client, rawSubscriber, sdk, sleep, startNodes, type Node } from './support/cluster.js';
import { RedisCluster } from './support/redis.js';
import { WebhookReceiver } from './support/webhook-receiver.js';

const NODE_TTL = 2;

describe('redis+cluster://', () => {
  let cluster: RedisCluster;
  let nodes: Node[];
  let receiver: WebhookReceiver;
  const clients: Client[] = [];

  before(async () => {
    cluster = await RedisCluster.start();
    receiver = await WebhookReceiver.start([APP]);
    const apps = [{ ...APP, webhooks: [{ url: receiver.url('/hooks'), eventTypes: ['channel_occupied', 'member_removed'] }] }];
    nodes = await startNodes(2, { redisUrl: cluster.url, redisPrefix: 'on-cluster', nodeTtl: NODE_TTL, webhookDelayMs: 200, apps });
  });

  after(async () => {
    for (const client of clients) client.disconnect();
    await sleep(200);
    await Promise.all(nodes.map((n) => n.stop()));
    await cluster.stop();
    await receiver.close();
  });

  it('delivers across nodes, shares presence and answers the HTTP API alike, and cleans up a killed node', async () => {
    const [one, two] = nodes.map((n) => n.port);
    const watcher = await Client.connect(one, { id: 'watcher' });
    clients.push(watcher);
    await watcher.subscribe('presence-room');
    await watcher.subscribe('news');
    const other = await rawSubscriber(two, ['presence-room', 'news'], 'other');
    // channel_data without user_info: members carry user_info null, as on a single node.
    assert.deepEqual((await watcher.next('presence-room', 'pusher_internal:member_added')).data, { user_id: 'other', user_info: null });

    await sdk(two).trigger('news', 'published-on-two', { n: 1 });
    assert.deepEqual((await watcher.next('news', 'published-on-two')).data, { n: 1 });
    await sdk(one).trigger('news', 'published-on-one', { n: 2 });
    await other.next((f) => f.event === 'published-on-one');

    for (const port of [one, two]) {
      const info = (await (await sdk(port).get({ path: '/channels/presence-room', params: { info: 'user_count,subscription_count' } })).json()) as object;
      assert.deepEqual(info, { occupied: true, user_count: 2, subscription_count: 2 });
    }

    await nodes[1].kill();
    const removed = await watcher.next('presence-room', 'pusher_internal:member_removed', NODE_TTL * 1000 + 3000);
    assert.deepEqual(removed.data, { user_id: 'other' });
    const after = (await (await sdk(one).get({ path: '/channels/news', params: { info: 'subscription_count' } })).json()) as object;
    assert.deepEqual(after, { occupied: true, subscription_count: 1 });

    // The webhook queue lives on the cluster too: each event once, validly signed.
    await receiver.until('member_removed webhook', () => receiver.events('/hooks').some((e) => e.name === 'member_removed'));
    await sleep(500);
    const seen = receiver.events('/hooks').map(({ at: _at, ...e }) => e);
    assert.deepEqual(seen.filter((e) => e.name === 'channel_occupied').map((e) => e.channel).sort(), ['news', 'presence-room']);
    assert.deepEqual(seen.filter((e) => e.name === 'member_removed'), [{ name: 'member_removed', channel: 'presence-room', user_id: 'other' }]);
    assert.ok(receiver.delivered('/hooks').every((d) => d.valid));
  });
});
