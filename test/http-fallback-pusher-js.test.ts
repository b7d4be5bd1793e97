// Real pusher-js (its Node build, whose XMLHttpRequest is the bundled `xmlhttprequest` package)
// on the HTTP fallbacks only (docs/PROTOCOL.md §7.2): it connects, subscribes and receives over
// xhr_streaming and xhr_polling, shares a presence channel with a WebSocket member, and in a
// cluster gets what another node publishes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Options } from 'pusher-js';
import type { RunningServer } from '../src/server.js';
import { Client, sdk, startNodes, type Node } from './support/cluster.js';
import { startTestServer } from './support/in-process.js';
import { RedisServer } from './support/redis.js';

type Fallback = 'xhr_streaming' | 'xhr_polling';

/** pusher-js on one HTTP fallback transport only, to a server on 127.0.0.1:`port`. */
const over = (transport: Fallback, port: number): Partial<Options> => ({ httpHost: '127.0.0.1', httpPort: port, enabledTransports: [transport] });

const transportOf = (client: Client): string => (client.pusher.connection as unknown as { connection: { transport: { name: string } } }).connection.transport.name;

describe('pusher-js on its HTTP fallbacks', () => {
  let server: RunningServer;
  before(async () => (server = await startTestServer({ httpHeartbeatSeconds: 1, pollTimeoutSeconds: 1, httpSessionTimeoutSeconds: 2 })));
  after(() => server.shutdown());

  for (const transport of ['xhr_streaming', 'xhr_polling'] as const) {
    it(`${transport}: connects, subscribes to public and private channels, receives SDK events`, async () => {
      const client = await Client.connect(server.port, undefined, undefined, over(transport, server.port));
      try {
        assert.equal(transportOf(client), transport);
        await client.subscribe('news');
        await client.subscribe('private-inbox');
        await sdk(server.port).trigger(['news', 'private-inbox'], 'posted', { title: 'hello' });
        assert.deepEqual((await client.next('news', 'posted')).data, { title: 'hello' });
        assert.deepEqual((await client.next('private-inbox', 'posted')).data, { title: 'hello' });
      } finally {
        client.disconnect();
      }
    });
  }

  it('mixed presence: a WebSocket member and an xhr_streaming member see each other come and go', async () => {
    const channel = 'presence-mixed';
    const overWs = await Client.connect(server.port, { id: 'ws-member' });
    const overHttp = await Client.connect(server.port, { id: 'http-member' }, undefined, over('xhr_streaming', server.port));
    try {
      await overWs.subscribe(channel);
      await overHttp.subscribe(channel);
      const wsSees = await overWs.next(channel, 'pusher_internal:member_added');
      assert.equal((wsSees.data as { user_id: string }).user_id, 'http-member');
      const members = overHttp.pusher.channel(channel) as unknown as { members: { count: number; get(id: string): unknown } };
      assert.equal(members.members.count, 2);
      assert.ok(members.members.get('ws-member') !== null);

      const another = await Client.connect(server.port, { id: 'ws-late' });
      await another.subscribe(channel);
      const httpSees = await overHttp.next(channel, 'pusher_internal:member_added');
      assert.equal((httpSees.data as { user_id: string }).user_id, 'ws-late');
      another.disconnect();
      const httpSeesLeave = await overHttp.next(channel, 'pusher_internal:member_removed');
      assert.equal((httpSeesLeave.data as { user_id: string }).user_id, 'ws-late');
      // The WebSocket member saw ws-late come and go too.
      await overWs.next(channel, 'pusher_internal:member_added');
      await overWs.next(channel, 'pusher_internal:member_removed');

      overHttp.disconnect();
      const left = await overWs.next(channel, 'pusher_internal:member_removed', 8000);
      assert.equal((left.data as { user_id: string }).user_id, 'http-member');
    } finally {
      overWs.disconnect();
      overHttp.disconnect();
    }
  });
});

describe('pusher-js on xhr_streaming in a cluster', () => {
  let redis: RedisServer;
  let nodes: Node[];
  before(async () => {
    redis = await RedisServer.start();
    nodes = await startNodes(2, { redisUrl: redis.url, httpHeartbeatSeconds: 1 });
  });
  after(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await redis.stop();
  });

  it('an xhr_streaming subscriber on node B gets what is published on node A', async () => {
    const [a, b] = nodes as [Node, Node];
    const client = await Client.connect(b.port, undefined, undefined, over('xhr_streaming', b.port));
    try {
      assert.equal(transportOf(client), 'xhr_streaming');
      await client.subscribe('private-cluster');
      await sdk(a.port).trigger('private-cluster', 'from-a', { n: 1 });
      assert.deepEqual((await client.next('private-cluster', 'from-a')).data, { n: 1 });
    } finally {
      client.disconnect();
    }
  });
});
