// SSE and poll on a two-node cluster over one real redis-server (docs/PROTOCOL.md §15): an SSE
// subscriber on node B gets what is published on node A, its presence is seen by a WebSocket on
// A, its Last-Event-ID resumes on A from the Redis history, and a poll cursor that reaches the
// other node is a `reset` that resumes there without a gap.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningServer } from '../src/server.js';
import { APP, sdk } from './support/cluster.js';
import { RawClient, startTestServer } from './support/in-process.js';
import { subscribeRaw } from './support/jwt-clients.js';
import { JWT_APP, jwtApp, mintToken } from './support/jwt.js';
import { RedisServer } from './support/redis.js';
import { openStream, poll } from './support/sse-client.js';

const HISTORY = 'history.orders';
const ROOM = 'presence-tenant.acme.room';

const numberOf = (data: unknown) => (JSON.parse(data as string) as { i: number }).i;

describe('SSE and poll on a Redis cluster', () => {
  let redis: RedisServer;
  let a: RunningServer;
  let b: RunningServer;

  before(async () => {
    redis = await RedisServer.start();
    const config = { apps: [{ ...APP, history: [{ channels: ['history.*'] }] }, jwtApp()], redisUrl: redis.url, redisPrefix: `sse-${Date.now()}` };
    [a, b] = await Promise.all([startTestServer(config), startTestServer(config)]);
  });
  after(async () => {
    await Promise.all([a, b].map((node) => node?.shutdown()));
    await redis?.stop();
  });

  it('an SSE stream on node B gets events published on node A, and resumes on node A by Last-Event-ID', async () => {
    const onB = await openStream(b.port, { app: APP.key, channel: HISTORY });
    await onB.named('pusher_internal:subscription_succeeded');
    await sdk(a.port).trigger(HISTORY, 'placed', { i: 1 });
    const first = await onB.named('placed');
    assert.equal(numberOf(first.frame.data), 1);
    assert.match(first.id!, new RegExp(`^${HISTORY}:0:[^:]+:${first.frame.offset as number}$`));
    onB.close();

    for (const i of [2, 3]) await sdk(b.port).trigger(HISTORY, 'placed', { i });
    const onA = await openStream(a.port, { app: APP.key, channel: HISTORY }, { 'Last-Event-ID': first.id! });
    try {
      assert.deepEqual([numberOf((await onA.named('placed')).frame.data), numberOf((await onA.named('placed')).frame.data)], [2, 3]);
    } finally {
      onA.close();
    }
  });

  it("an SSE presence member on node B is in node A's roster and leaves when its stream ends", async () => {
    const ws = await RawClient.connect(a.port, JWT_APP.key);
    try {
      await ws.established();
      await subscribeRaw(ws, ROOM, await mintToken({ sub: 'ws-user', roles: ['member'] }));
      const s = await openStream(b.port, { app: JWT_APP.key, channel: ROOM, token: await mintToken({ sub: 'sse-user', roles: ['member'] }) });
      const roster = JSON.parse((await s.named('pusher_internal:subscription_succeeded')).frame.data as string) as { presence: { ids: string[] } };
      assert.deepEqual(roster.presence.ids.sort(), ['sse-user', 'ws-user']);
      assert.equal(JSON.parse((await ws.next((f) => f.event === 'pusher_internal:member_added')).data as string).user_id, 'sse-user');
      s.close();
      assert.equal(JSON.parse((await ws.next((f) => f.event === 'pusher_internal:member_removed')).data as string).user_id, 'sse-user');
    } finally {
      ws.close();
    }
  });

  it('a poll cursor of node A that reaches node B resets and resumes from its positions', async () => {
    const opened = await poll(a.port, { app: APP.key, channel: HISTORY });
    await sdk(a.port).trigger(HISTORY, 'placed', { i: 10 });
    const first = await poll(a.port, { app: APP.key, cursor: opened.page.cursor, timeout: '0' });
    assert.deepEqual(first.page.events.map((e) => numberOf(e.data)), [10]);
    await sdk(a.port).trigger(HISTORY, 'placed', { i: 11 });

    let answer = await poll(b.port, { app: APP.key, channel: HISTORY, cursor: first.page.cursor, timeout: '0' });
    assert.equal(answer.page.reset, true);
    const seen = answer.page.events.filter((e) => e.event === 'placed').map((e) => numberOf(e.data));
    while (seen.length === 0) {
      answer = await poll(b.port, { app: APP.key, cursor: answer.page.cursor, timeout: '1' });
      seen.push(...answer.page.events.filter((e) => e.event === 'placed').map((e) => numberOf(e.data)));
    }
    assert.deepEqual(seen, [11]);
  });
});
