// Redis through Sentinel (redis+sentinel://): the nodes find the primary by asking the sentinels,
// and when it dies and Sentinel promotes its replica they reconnect there and deliver again,
// without restarts, a DNS name or a virtual IP.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { rawSubscriber, sdk, sleep, startNodes, until } from './support/cluster.js';
import { RedisServer, Sentinel } from './support/redis.js';

describe('redis+sentinel://', () => {
  it('delivers across nodes through the primary Sentinel names, and again after a failover', async () => {
    const primary = await RedisServer.start();
    const replica = await RedisServer.start(['--replicaof', '127.0.0.1', String(primary.port)]);
    const sentinel = await Sentinel.start('broadcasty-main', primary.port);
    const nodes = await startNodes(2, { redisUrl: `redis+sentinel://127.0.0.1:${sentinel.port}/broadcasty-main`, redisPrefix: 'sentinel' });
    const [listening, publishing] = nodes.map((n) => n.port);
    const inspect = new Redis(replica.port, '127.0.0.1');
    try {
      const listener = await rawSubscriber(listening, ['sentinel-news']);
      await sdk(publishing).trigger('sentinel-news', 'before', {});
      await listener.next((f) => f.event === 'before');

      await primary.stop();
      // Only Redis carries an event from one node to the other: seeing one proves the failover.
      const delivered = listener.next((f) => f.event === 'after', 30_000);
      let attempt = 0;
      let settled = false;
      void delivered.then(() => (settled = true), () => (settled = true));
      while (!settled && attempt < 60) {
        await sdk(publishing).trigger('sentinel-news', 'after', { attempt: attempt++ }).catch(() => undefined);
        await sleep(500);
      }
      await delivered;
      assert.equal(((await inspect.call('ROLE')) as [string])[0], 'master', 'Sentinel promoted the replica');
      await until(async () => (await Promise.all(nodes.map((n) => fetch(`http://127.0.0.1:${n.port}/ready`)))).every((r) => r.status === 200), 10_000, 'both nodes ready');
      listener.close();
    } finally {
      inspect.disconnect();
      await Promise.all(nodes.map((n) => n.stop()));
      await sentinel.stop();
      await replica.stop();
      await primary.stop();
    }
  });
});
