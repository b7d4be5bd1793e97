// Presence with a TTL (docs/PROTOCOL.md §14.5): a member joined over HTTP is in the same roster as
// socket members — Echo's here/joining/leaving see it, the presence webhooks fire — stays while it
// heartbeats, and leaves one TTL after its last heartbeat; with Redis even when the node that took
// the join was killed. The app is in `both` mode: Echo's socket is signed by the app (HMAC), the
// HTTP members by their JWTs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Echo from 'laravel-echo';
import PusherModule from 'pusher-js';
import type { RunningServer } from '../src/server.js';
import { Client, localPusherOptions, sleep, startNode, type Node } from './support/cluster.js';
import { startTestServer } from './support/in-process.js';
import { broadcasty, JWT_APP, jwtApp, mintToken } from './support/jwt.js';
import { RedisServer } from './support/redis.js';
import { WebhookReceiver } from './support/webhook-receiver.js';

const Pusher = PusherModule as unknown as typeof PusherModule.default;

const ROOM = 'presence-tenant.acme.room';
const TTL_SECONDS = 5;
const HOOKS = '/presence';

const appWithHooks = (receiver: WebhookReceiver) =>
  jwtApp({ authMode: 'both', webhooks: [{ url: receiver.url(HOOKS), eventTypes: ['member_added', 'member_removed'] }] }, { presenceTtlSeconds: TTL_SECONDS });

const presenceCall = (port: number, endpoint: string, userId: string) =>
  mintToken({ sub: userId, user_info: { name: userId } }).then((token) => broadcasty(port, 'POST', `presence/${endpoint}`, { token, body: { channel: ROOM } }));

async function joined(port: number, userId: string): Promise<void> {
  const reply = await presenceCall(port, 'join', userId);
  assert.equal(reply.status, 200, reply.text);
}

/** Resolves once `list` holds an entry for which `match` is true. */
async function seen<T>(list: T[], match: (item: T) => boolean, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = list.find(match);
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`${what} not seen within ${timeoutMs} ms; got ${JSON.stringify(list)}`);
    await sleep(25);
  }
}

describe('presence leases seen by Echo and the webhooks (LocalEngine)', () => {
  let receiver: WebhookReceiver;
  let server: RunningServer;
  let echo: Echo<'pusher'>;

  before(async () => {
    receiver = await WebhookReceiver.start([JWT_APP]);
    server = await startTestServer({ apps: [appWithHooks(receiver)], webhookDelayMs: 0 });
  });

  after(async () => {
    echo?.disconnect();
    await server.shutdown();
    await receiver.close();
  });

  it('here and joining show HTTP members; heartbeats keep one; leaving and member_removed follow one TTL after the last', async () => {
    const port = server.port;
    await joined(port, 'early');
    const pusher = new Pusher(JWT_APP.key, localPusherOptions(port, JWT_APP, { id: 'browser', info: { name: 'browser' } }));
    echo = new Echo({ broadcaster: 'pusher', key: JWT_APP.key, client: pusher });
    const here: { name: string }[][] = [];
    const joining: { name: string }[] = [];
    const leaving: { name: string }[] = [];
    echo
      .join(ROOM.slice('presence-'.length)) // Echo adds the prefix
      .here((members: { name: string }[]) => here.push(members))
      .joining((member: { name: string }) => joining.push(member))
      .leaving((member: { name: string }) => leaving.push(member));
    const members = await seen(here, () => true, 'here');
    assert.deepEqual(members.map((m) => m.name).sort(), ['browser', 'early']);

    await joined(port, 'late');
    await seen(joining, (m) => m.name === 'late', 'joining late');
    await receiver.until('member_added webhooks', () => receiver.events(HOOKS).filter((e) => e.name === 'member_added').length === 3);

    // `late` heartbeats for longer than the TTL; `early` never does, so it goes one TTL after its join.
    const heartbeatUntil = Date.now() + (TTL_SECONDS + 2) * 1000;
    while (Date.now() < heartbeatUntil) {
      assert.equal((await presenceCall(port, 'heartbeat', 'late')).status, 200);
      await sleep(1500);
    }
    await seen(leaving, (m) => m.name === 'early', 'leaving early');
    assert.deepEqual(leaving.map((m) => m.name), ['early'], 'the heartbeating member stays');

    await seen(leaving, (m) => m.name === 'late', 'leaving late, one TTL after its last heartbeat');
    await receiver.until('member_removed webhooks', () => receiver.events(HOOKS).filter((e) => e.name === 'member_removed').length === 2);
    const removed = receiver.events(HOOKS).filter((e) => e.name === 'member_removed').map((e) => (e as { user_id?: string }).user_id);
    assert.deepEqual(removed.sort(), ['early', 'late']);
    assert.ok(receiver.delivered(HOOKS).every((d) => d.valid), 'signed as Pusher signs them');
    assert.equal((await presenceCall(port, 'heartbeat', 'late')).status, 404, 'an expired lease cannot be renewed');
  });
});

describe('presence leases across two nodes on one redis-server', () => {
  let redis: RedisServer;
  let receiver: WebhookReceiver;
  let nodes: Node[];
  let watcher: Client;

  before(async () => {
    redis = await RedisServer.start();
    receiver = await WebhookReceiver.start([JWT_APP]);
    const config = { redisUrl: redis.url, apps: [appWithHooks(receiver)], webhookDelayMs: 0 };
    nodes = await Promise.all([startNode(config), startNode(config)]);
    watcher = await Client.connect(nodes[1].port, { id: 'watcher' }, JWT_APP);
  });

  after(async () => {
    watcher.disconnect();
    await Promise.all(nodes.map((node) => node.stop()));
    await receiver.close();
    await redis.stop();
  });

  it('a member joined through a node killed with -9 leaves one TTL later, seen on the other node, with one webhook', async () => {
    await watcher.subscribe(ROOM);
    await joined(nodes[0].port, 'mobile');
    const added = await watcher.next(ROOM, 'pusher_internal:member_added');
    assert.deepEqual(added.data, { user_id: 'mobile', user_info: { name: 'mobile' } });
    await nodes[0].kill();
    const removed = await watcher.next(ROOM, 'pusher_internal:member_removed', (TTL_SECONDS + 10) * 1000);
    assert.deepEqual(removed.data, { user_id: 'mobile' });
    await receiver.until('member_removed webhook', () => receiver.events(HOOKS).some((e) => e.name === 'member_removed'));
    // A second sweeper would send a second one at once; the survivor's next batch is the check.
    await watcher.next(ROOM, 'pusher_internal:member_removed', 2500).then(
      (again) => assert.fail(`a second member_removed: ${JSON.stringify(again)}`),
      () => undefined,
    );
    assert.deepEqual(
      receiver.events(HOOKS).filter((e) => e.name === 'member_removed').map((e) => (e as { user_id?: string }).user_id),
      ['mobile'],
      'exactly once cluster-wide',
    );
  });
});
