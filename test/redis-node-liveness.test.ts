// Crash cleanup with the default nodeTtl, as a hosted-Pusher user notices it: a ghost member of
// a killed node must be gone within seconds, and a node that is only busy (a load spike, a long
// GC pause, simulated with SIGSTOP) must not lose its members.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { APP, Client, rawSubscriber, sdk, sleep, startNodes, type Node } from './support/cluster.js';
import { RedisServer } from './support/redis.js';

async function userIds(port: number, channel: string): Promise<string[]> {
  const body = (await (await sdk(port).get({ path: `/channels/${channel}/users` })).json()) as { users: { id: string }[] };
  return body.users.map((u) => u.id).sort();
}

describe('node liveness with the default nodeTtl', () => {
  let redis: RedisServer;
  let nodes: Node[];
  let watcher: Client;

  before(async () => {
    redis = await RedisServer.start();
    nodes = await startNodes(3, { redisUrl: redis.url, apps: [APP] });
    watcher = await Client.connect(nodes[0].port, { id: 'watcher' });
  });

  after(async () => {
    watcher.disconnect();
    for (const node of nodes) node.cli.child.kill('SIGCONT');
    await sleep(200);
    await Promise.all(nodes.map((n) => n.stop()));
    await redis.stop();
  });

  it('keeps the members of a node that stalls for 6 s (less than nodeTtl): no member_removed, still on the roster', async () => {
    await watcher.subscribe('presence-busy');
    const busy = nodes[1];
    const member = await rawSubscriber(busy.port, ['presence-busy'], 'busy-user');
    await watcher.next('presence-busy', 'pusher_internal:member_added');
    busy.cli.child.kill('SIGSTOP');
    try {
      await sleep(6000);
    } finally {
      busy.cli.child.kill('SIGCONT');
    }
    await sleep(2000);
    assert.deepEqual(watcher.take('presence-busy', 'pusher_internal:member_removed'), [], 'no false removal');
    assert.deepEqual(await userIds(nodes[0].port, 'presence-busy'), ['busy-user', 'watcher']);
    member.close();
  });

  it('announces member_removed for the members of a node killed with -9 within 15 s', async () => {
    await watcher.subscribe('presence-crash');
    const doomed = nodes[2];
    await rawSubscriber(doomed.port, ['presence-crash'], 'ghost');
    await watcher.next('presence-crash', 'pusher_internal:member_added');
    await doomed.kill();
    const removed = await watcher.next('presence-crash', 'pusher_internal:member_removed', 15_000);
    assert.deepEqual(removed.data, { user_id: 'ghost' });
    assert.deepEqual(await userIds(nodes[0].port, 'presence-crash'), ['watcher']);
  });
});
