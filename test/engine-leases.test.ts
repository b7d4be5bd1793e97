// Presence leases and token guards as both engines keep them (docs/PROTOCOL.md §14.5, §14.6): a
// lease and a socket of one user are one member (first/last hold), the member limit, renewals and
// expiry; nonces once only, revocations until a time, one-second hit windows. With Redis: two
// nodes on one redis-server count one window and expire each lease once; a lease outlives the
// node that took it (SIGKILL) and the sweeper of another node announces member_removed once.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config/load.js';
import type { ChannelObserver } from '../src/publish/observer.js';
import { EngineUnavailableError, type Engine, type ExpiredLease, type PresenceMember } from '../src/engine/types.js';
import { joinLeased, leaveLeased, renewLeased } from '../src/channels/presence-leases.js';
import { startServer, type RunningServer } from '../src/server.js';
import { APP, Client, sleep, until } from './support/cluster.js';
import { APP_ID, describeEngines } from './support/engines.js';
import { RedisServer } from './support/redis.js';

const member = (userId: string, info: unknown = { name: userId }): PresenceMember => ({ userId, rawUserId: userId, info });
const LONG_TTL = 60_000;
const NO_LIMIT = 100;

/** Calls expireLeases until `count` expiries came back (a lease expires once its deadline passed). */
async function expireUntil(engines: Engine[], count: number): Promise<ExpiredLease[]> {
  const expired: ExpiredLease[] = [];
  await until(async () => {
    for (const batch of await Promise.all(engines.map((e) => e.expireLeases(500)))) expired.push(...batch);
    return expired.length >= count;
  }, 5000, `${count} expired leases`);
  return expired;
}

const ids = async (engine: Engine, channel: string) => [...(await engine.members(APP_ID, channel)).keys()].sort();

describeEngines('presence leases', (h) => {
  it('a lease and a socket of one user are one member: first in joins, last out leaves', async () => {
    const { engine } = await h.start();
    const leased = await engine.leaseMember(APP_ID, 'presence-one', member('u1'), LONG_TTL, NO_LIMIT);
    assert.deepEqual(leased.status === 'joined' && { first: leased.firstForUser, ids: [...leased.roster.keys()] }, { first: true, ids: ['u1'] });
    const again = await engine.leaseMember(APP_ID, 'presence-one', member('u1'), LONG_TTL, NO_LIMIT);
    assert.equal(again.status === 'joined' && again.firstForUser, false, 'joining again renews');
    const socket = await engine.join(APP_ID, 'presence-one', 'sock.1', member('u1'), NO_LIMIT);
    assert.equal(socket.status === 'joined' && socket.firstForUser, false);
    assert.deepEqual(await engine.releaseLease(APP_ID, 'presence-one', 'u1'), { member: member('u1'), lastForUser: false }, 'the socket still holds u1');
    assert.deepEqual(await ids(engine, 'presence-one'), ['u1']);
    assert.equal(await engine.releaseLease(APP_ID, 'presence-one', 'u1'), undefined, 'no lease left');
    assert.equal(await engine.leave(APP_ID, 'presence-one', 'sock.1', 'u1'), true);
    assert.deepEqual(await ids(engine, 'presence-one'), []);

    await engine.join(APP_ID, 'presence-one', 'sock.2', member('u2'), NO_LIMIT);
    const late = await engine.leaseMember(APP_ID, 'presence-one', member('u2', 'other info'), LONG_TTL, NO_LIMIT);
    assert.equal(late.status === 'joined' && late.firstForUser, false);
    assert.deepEqual(late.status === 'joined' && late.roster.get('u2')?.info, { name: 'u2' }, 'the first hold set the member');
    assert.equal(await engine.leave(APP_ID, 'presence-one', 'sock.2', 'u2'), false, 'the lease still holds u2');
    assert.deepEqual(await engine.releaseLease(APP_ID, 'presence-one', 'u2'), { member: member('u2'), lastForUser: true });
    assert.deepEqual(await ids(engine, 'presence-one'), []);
  });

  it('applies the member limit to leases; a present user always gets in', async () => {
    const { engine } = await h.start();
    await engine.join(APP_ID, 'presence-full', 'sock.1', member('u1'), 2);
    assert.equal((await engine.leaseMember(APP_ID, 'presence-full', member('u2'), LONG_TTL, 2)).status, 'joined');
    assert.deepEqual(await engine.leaseMember(APP_ID, 'presence-full', member('u3'), LONG_TTL, 2), { status: 'full' });
    assert.equal((await engine.leaseMember(APP_ID, 'presence-full', member('u1'), LONG_TTL, 2)).status, 'joined', 'u1 has a socket in');
    assert.equal((await engine.leaseMember(APP_ID, 'presence-full', member('u2'), LONG_TTL, 2)).status, 'joined', 'a renewal');
    assert.deepEqual(await engine.join(APP_ID, 'presence-full', 'sock.3', member('u3'), 2), { status: 'full' }, 'leases count for sockets too');
    assert.deepEqual(await ids(engine, 'presence-full'), ['u1', 'u2']);
  });

  it('expires leases past their deadline once, reporting the member and whether it was the last hold', async () => {
    const { engine } = await h.start();
    await engine.leaseMember(APP_ID, 'presence-exp', { userId: '7', rawUserId: 7, info: { n: 7 } }, 100, NO_LIMIT);
    await engine.leaseMember(APP_ID, 'presence-exp', member('with-socket'), 100, NO_LIMIT);
    await engine.join(APP_ID, 'presence-exp', 'sock.1', member('with-socket'), NO_LIMIT);
    await engine.leaseMember(APP_ID, 'presence-exp', member('renewed'), LONG_TTL, NO_LIMIT);
    const expired = await expireUntil([engine], 2);
    const byUser = (id: string) => expired.find((e) => e.member.userId === id);
    assert.equal(expired.length, 2);
    assert.deepEqual(byUser('7'), { appId: APP_ID, channel: 'presence-exp', member: { userId: '7', rawUserId: 7, info: { n: 7 } }, lastForUser: true });
    assert.equal(byUser('with-socket')?.lastForUser, false);
    assert.deepEqual(await engine.expireLeases(500), [], 'each expiry is reported once');
    assert.deepEqual(await ids(engine, 'presence-exp'), ['renewed', 'with-socket']);
    assert.equal(await engine.renewLease(APP_ID, 'presence-exp', '7', LONG_TTL), false, 'an expired lease cannot be renewed');
    assert.equal(await engine.renewLease(APP_ID, 'presence-exp', 'with-socket', LONG_TTL), false, 'a socket is no lease');
  });

  it('renews a lease until a renewal stops; a lease past its deadline is expired before any sweep', async () => {
    const { engine } = await h.start();
    assert.equal(await engine.renewLease(APP_ID, 'presence-renew', 'u1', 100), false, 'never joined');
    await engine.leaseMember(APP_ID, 'presence-renew', member('u1'), 200, NO_LIMIT);
    assert.equal(await engine.renewLease(APP_ID, 'presence-renew', 'u1', LONG_TTL), true);
    await sleep(300);
    assert.deepEqual(await engine.expireLeases(500), [], 'the renewal moved the deadline');
    assert.equal(await engine.renewLease(APP_ID, 'presence-renew', 'u1', 50), true);
    await sleep(100);
    assert.equal(await engine.renewLease(APP_ID, 'presence-renew', 'u1', LONG_TTL), false);
    const rejoined = await engine.leaseMember(APP_ID, 'presence-renew', member('u1'), LONG_TTL, NO_LIMIT);
    assert.equal(rejoined.status === 'joined' && rejoined.firstForUser, false, 'not swept yet: still a member, so no second member_added');
    assert.deepEqual(await engine.expireLeases(500), []);
  });
});

describeEngines('token guards', (h) => {
  it('accepts a nonce once per user within its window', async () => {
    const { engine } = await h.start();
    assert.equal(await engine.claimNonce(APP_ID, 'u1', 'nonce-0001', 100), true);
    assert.equal(await engine.claimNonce(APP_ID, 'u1', 'nonce-0001', 100), false, 'a replay');
    assert.equal(await engine.claimNonce(APP_ID, 'u2', 'nonce-0001', 100), true, 'another user');
    assert.equal(await engine.claimNonce('other-app', 'u1', 'nonce-0001', 100), true, 'another app');
    await sleep(150);
    assert.equal(await engine.claimNonce(APP_ID, 'u1', 'nonce-0001', 100), true, 'the window passed');
  });

  it('refuses a revoked token id until the revocation ends', async () => {
    const { engine } = await h.start();
    assert.equal(await engine.isRevoked(APP_ID, 'jti-1'), false);
    await engine.revokeToken(APP_ID, 'jti-1', Date.now() + LONG_TTL);
    await engine.revokeToken(APP_ID, 'jti-2', Date.now() + 100);
    await engine.revokeToken(APP_ID, 'jti-3', Date.now() - 1000);
    assert.equal(await engine.isRevoked(APP_ID, 'jti-1'), true);
    assert.equal(await engine.isRevoked(APP_ID, 'jti-2'), true);
    assert.equal(await engine.isRevoked(APP_ID, 'jti-3'), false, 'revoked until a time already past');
    assert.equal(await engine.isRevoked('other-app', 'jti-1'), false);
    await sleep(150);
    assert.equal(await engine.isRevoked(APP_ID, 'jti-2'), false);
    assert.equal(await engine.isRevoked(APP_ID, 'jti-1'), true);
  });

  it('counts hits per bucket in epoch-second windows', async () => {
    const { engine } = await h.start();
    const second = Math.floor(Date.now() / 1000) * 1000;
    assert.equal(await engine.countHit(APP_ID, 'user:u1', second + 10), 1);
    assert.equal(await engine.countHit(APP_ID, 'user:u1', second + 990), 2);
    assert.equal(await engine.countHit(APP_ID, 'ip:::1', second + 500), 1, 'another bucket');
    assert.equal(await engine.countHit('other-app', 'user:u1', second + 500), 1, 'another app');
    assert.equal(await engine.countHit(APP_ID, 'user:u1', second + 1000), 1, 'the next second starts over');
  });
});

describeEngines(
  'leases and guards across two nodes',
  (h) => {
    it('counts one hit window and one nonce across nodes', async () => {
      const [a, b] = [await h.start(), await h.start()];
      const now = Date.now();
      assert.equal(await a.engine.countHit(APP_ID, 'requests', now), 1);
      assert.equal(await b.engine.countHit(APP_ID, 'requests', now), 2);
      assert.equal(await a.engine.claimNonce(APP_ID, 'u1', 'shared-nonce', LONG_TTL), true);
      assert.equal(await b.engine.claimNonce(APP_ID, 'u1', 'shared-nonce', LONG_TTL), false);
      await a.engine.revokeToken(APP_ID, 'jti-shared', now + LONG_TTL);
      assert.equal(await b.engine.isRevoked(APP_ID, 'jti-shared'), true);
    });

    it('hands each expired lease to exactly one of two sweeping nodes', async () => {
      const [a, b] = [await h.start(), await h.start()];
      for (let i = 0; i < 40; i += 1) await (i % 2 ? a : b).engine.leaseMember(APP_ID, 'presence-race', member(`u${i}`), 100, NO_LIMIT);
      await b.engine.join(APP_ID, 'presence-race', 'sock.1', member('u0'), NO_LIMIT);
      const expired = await expireUntil([a.engine, b.engine], 40);
      assert.equal(expired.length, 40);
      assert.equal(new Set(expired.map((e) => e.member.userId)).size, 40, 'no expiry twice');
      assert.deepEqual(expired.filter((e) => !e.lastForUser).map((e) => e.member.userId), ['u0']);
      assert.deepEqual(await ids(a.engine, 'presence-race'), ['u0']);
    });

    it('refuses leases, nonces and revocations while Redis does not answer; counts hits on the node', async () => {
      const node = await h.start();
      const redis = h.redis()!;
      await node.engine.leaseMember(APP_ID, 'presence-outage', member('u1'), LONG_TTL, NO_LIMIT);
      redis.server.pause();
      await until(() => node.engine.health() === 'degraded', 5000, 'degraded');
      try {
        for (const call of [
          () => node.engine.leaseMember(APP_ID, 'presence-outage', member('u2'), LONG_TTL, NO_LIMIT),
          () => node.engine.renewLease(APP_ID, 'presence-outage', 'u1', LONG_TTL),
          () => node.engine.releaseLease(APP_ID, 'presence-outage', 'u1'),
          () => node.engine.expireLeases(500),
          () => node.engine.claimNonce(APP_ID, 'u1', 'outage-nonce', LONG_TTL),
          () => node.engine.revokeToken(APP_ID, 'jti-outage', Date.now() + LONG_TTL),
          () => node.engine.isRevoked(APP_ID, 'jti-outage'),
        ]) {
          await assert.rejects(call, EngineUnavailableError);
        }
        const now = Date.now();
        assert.equal(await node.engine.countHit(APP_ID, 'outage', now), 1);
        assert.equal(await node.engine.countHit(APP_ID, 'outage', now), 2);
      } finally {
        redis.server.resume();
      }
      await until(() => node.engine.health() === 'ok', 10_000, 'ok again');
      assert.equal(await node.engine.renewLease(APP_ID, 'presence-outage', 'u1', LONG_TTL), true, 'the lease outlived the outage');
    });
  },
  ['RedisEngine'],
);

/**
 * Node 1, a server in a child process, joins `user` to `channel` with a lease (joinLeased), prints
 * `leased`, then stays up until killed.
 */
function leasingNode(redisUrl: string, channel: string, user: string) {
  const src = new URL('../src/', import.meta.url).pathname;
  const script = `
    import { loadConfig } from '${src}config/load.ts';
    import { startServer } from '${src}server.ts';
    import { joinLeased } from '${src}channels/presence-leases.ts';
    const config = loadConfig({ env: {}, overrides: ${JSON.stringify(serverOverrides(redisUrl))} });
    const server = await startServer(config);
    const app = await server.ctx.registry.findById('${APP.id}');
    const joined = await joinLeased(server.ctx, app, '${channel}', { userId: '${user}', rawUserId: '${user}', info: { leased: true } });
    console.log(joined.status === 'joined' && joined.firstForUser ? 'leased' : 'not leased');
    setInterval(() => undefined, 60_000);`;
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const leased = new Promise<string>((resolve) => child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())));
  return { child, leased };
}

/** A server whose leases last 5 s (the least presenceTtlSeconds); LocalEngine without a Redis URL. */
function serverOverrides(redisUrl?: string) {
  return { host: '127.0.0.1', port: 0, logLevel: 'silent', ...(redisUrl && { redisUrl }), apps: [{ ...APP, jwt: { presenceTtlSeconds: 5 } }] };
}

/** Records the presence webhooks' source: the observer calls. */
function recordingObserver(events: string[]): ChannelObserver {
  const ignore = () => undefined;
  return {
    channelOccupied: ignore,
    channelVacated: ignore,
    memberAdded: (_app, channel, userId) => events.push(`added ${channel} ${userId}`),
    memberRemoved: (_app, channel, userId) => events.push(`removed ${channel} ${userId}`),
    clientEvent: ignore,
    cacheMiss: ignore,
    subscriptionCount: ignore,
  };
}

describe('the lease sweeper across nodes', () => {
  let redis: RedisServer;
  let client: Redis;
  let server: RunningServer;
  const observed: string[] = [];

  before(async () => {
    redis = await RedisServer.start();
    client = new Redis(redis.url);
    server = await startServer(loadConfig({ env: {}, overrides: serverOverrides(redis.url) }), { observers: [recordingObserver(observed)] });
  });

  after(async () => {
    await server.shutdown();
    client.disconnect();
    await redis.stop();
  });

  it('expires a lease of a node killed with -9 once, on the surviving node: member_removed and its webhook', async () => {
    const watcher = await Client.connect(server.port, { id: 'watcher' });
    const subscription = await watcher.subscribe('presence-lease');
    const node1 = leasingNode(redis.url, 'presence-lease', 'leased-user');
    try {
      assert.equal(await node1.leased, 'leased');
      const added = await watcher.next('presence-lease', 'pusher_internal:member_added');
      assert.deepEqual(added.data, { user_id: 'leased-user', user_info: { leased: true } });
      assert.equal((subscription as unknown as { members: { count: number } }).members.count, 2, "pusher-js's roster");
    } finally {
      node1.child.kill('SIGKILL');
    }
    // presenceTtlSeconds 5: the deadline passes within seconds, then a sweep (1 s) takes it.
    const removed = await watcher.next('presence-lease', 'pusher_internal:member_removed', 10_000);
    assert.deepEqual(removed.data, { user_id: 'leased-user' });
    await until(() => observed.includes('removed presence-lease leased-user'), 5000, 'member_removed webhook');
    // Taken once: no lease left that a later sweep of any node could expire again.
    assert.equal(await client.zcard('{broadcasty}:leases'), 0);
    assert.deepEqual([...(await server.ctx.engine.members(APP.id, 'presence-lease')).keys()], ['watcher']);
    assert.deepEqual(observed.filter((e) => e.startsWith('removed')), ['removed presence-lease leased-user']);
    assert.deepEqual(watcher.take('presence-lease', 'pusher_internal:member_removed'), []);
    watcher.disconnect();
  });
});

describe('leased members on one server (LocalEngine)', () => {
  let server: RunningServer;
  const observed: string[] = [];

  before(async () => {
    server = await startServer(loadConfig({ env: {}, overrides: serverOverrides() }), { observers: [recordingObserver(observed)] });
  });

  after(() => server.shutdown());

  it('announces a leased member as a socket member: added once, removed when the last hold goes, expired by the sweeper', async () => {
    const { ctx } = server;
    const app = (await ctx.registry.findById(APP.id))!;
    const watcher = await Client.connect(server.port, { id: 'watcher' });
    await watcher.subscribe('presence-local');
    const joined = await joinLeased(ctx, app, 'presence-local', { userId: '42', rawUserId: '42', info: { n: 42 } });
    assert.equal(joined.status === 'joined' && joined.firstForUser, true);
    assert.deepEqual((await watcher.next('presence-local', 'pusher_internal:member_added')).data, { user_id: '42', user_info: { n: 42 } });
    await joinLeased(ctx, app, 'presence-local', { userId: '42', rawUserId: '42', info: { n: 42 } });
    assert.equal(await renewLeased(ctx, app, 'presence-local', '42'), true);
    assert.equal(await leaveLeased(ctx, app, 'presence-local', '42'), true);
    assert.deepEqual((await watcher.next('presence-local', 'pusher_internal:member_removed')).data, { user_id: '42' });
    assert.equal(await leaveLeased(ctx, app, 'presence-local', '42'), false, 'no lease left');
    assert.equal(await renewLeased(ctx, app, 'presence-local', '42'), false);
    assert.deepEqual(watcher.take('presence-local', 'pusher_internal:member_added'), [], 'the second join was a renewal');

    await joinLeased(ctx, app, 'presence-local', { userId: 'expiring', rawUserId: 'expiring', info: null });
    await watcher.next('presence-local', 'pusher_internal:member_added');
    // presenceTtlSeconds 5, then the 1 s sweep.
    assert.deepEqual((await watcher.next('presence-local', 'pusher_internal:member_removed', 10_000)).data, { user_id: 'expiring' });
    assert.deepEqual(observed.filter((e) => e.includes('presence-local') && !e.includes('watcher')), [
      'added presence-local 42',
      'removed presence-local 42',
      'added presence-local expiring',
      'removed presence-local expiring',
    ]);
    watcher.disconnect();
  });
});

describeEngines('token guards: times at or before now', (h) => {
  it('a revocation until a past time (0 included) is a no-op, a zero nonce window still claims: no Redis error, no outage', async () => {
    const { engine } = await h.start();
    await engine.revokeToken(APP_ID, 'jti-epoch', 0);
    await engine.revokeToken(APP_ID, 'jti-past', Date.now() - 1000);
    assert.equal(await engine.isRevoked(APP_ID, 'jti-epoch'), false);
    assert.equal(await engine.isRevoked(APP_ID, 'jti-past'), false);
    assert.equal(await engine.claimNonce(APP_ID, 'u1', 'zero-window', 0), true);
    assert.equal(engine.health(), 'ok');
    await engine.revokeToken(APP_ID, 'jti-later', Date.now() + LONG_TTL);
    assert.equal(await engine.isRevoked(APP_ID, 'jti-later'), true, 'revocations still reach Redis');
  });
});
