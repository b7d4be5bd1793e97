// GET /broadcasty/poll as a script polls it (docs/PROTOCOL.md §15.1, §15.3, §15.4): the opening
// answer, held polls answered by an event or ending empty at their timeout, a lost answer sent
// again for the older cursor, `reset` with a gap-free history resume once the session timed out,
// `closed`, refusals, and a presence member that lives exactly as long as the polls keep coming.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningServer } from '../src/server.js';
import { APP, sdk, sleep, until } from './support/cluster.js';
import { RawClient, startTestServer } from './support/in-process.js';
import { subscribeRaw } from './support/jwt-clients.js';
import { JWT_APP, jwtApp, mintToken } from './support/jwt.js';
import { poll, type PollPage, type Query } from './support/sse-client.js';

const HISTORY = 'history.orders';
const ROOM = 'presence-tenant.acme.room';
const SUCCEEDED = 'pusher_internal:subscription_succeeded';
const CURSOR = /^[0-9a-f]{16}~\d+~/;

const numbers = (page: PollPage, event: string) => page.events.filter((e) => e.event === event).map((e) => (JSON.parse(e.data as string) as { i: number }).i);

describe('/broadcasty/poll', () => {
  let server: RunningServer;
  let port: number;
  const get = (query: Query) => poll(port, query);
  const publish = (channel: string, event: string, i: number) => sdk(port).trigger(channel, event, { i });

  before(async () => {
    const apps = [{ ...APP, history: [{ channels: ['history.*'] }] }, jwtApp()];
    server = await startTestServer({ apps, pollTimeoutSeconds: 2, httpSessionTimeoutSeconds: 2 });
    port = server.port;
  });
  after(() => server.shutdown());

  it('a poll without a cursor subscribes and answers at once; a held poll is answered by the next event', async () => {
    const opened = await get({ app: APP.key, channel: ['news', HISTORY] });
    assert.equal(opened.status, 200);
    assert.match(opened.page.cursor, CURSOR);
    assert.deepEqual(
      opened.page.events.map((e) => [e.event, e.channel]),
      [
        [SUCCEEDED, 'news'],
        [SUCCEEDED, HISTORY],
      ],
    );
    const held = get({ app: APP.key, cursor: opened.page.cursor });
    await sleep(100);
    await publish('news', 'story', 1);
    const answer = await held;
    assert.deepEqual(answer.page.events, [{ event: 'story', data: '{"i":1}', channel: 'news' }]);
    assert.notEqual(answer.page.cursor, opened.page.cursor);
  });

  it('timeout=0 answers at once; a held poll ends empty at its timeout with the same cursor', async () => {
    const { page } = await get({ app: APP.key, channel: 'quiet' });
    const now = await get({ app: APP.key, cursor: page.cursor, timeout: '0' });
    assert.deepEqual(now.page, { cursor: page.cursor, events: [] });
    const short = await get({ app: APP.key, cursor: page.cursor, timeout: '1' });
    assert.deepEqual(short.page, { cursor: page.cursor, events: [] });
    const full = await get({ app: APP.key, cursor: page.cursor });
    assert.deepEqual(full.page, { cursor: page.cursor, events: [] }, 'pollTimeoutSeconds');
  });

  it('polling again with the older cursor answers the same events again; the newer one goes on from there', async () => {
    const { page } = await get({ app: APP.key, channel: 'lossy' });
    await publish('lossy', 'e', 1);
    const first = await get({ app: APP.key, cursor: page.cursor, timeout: '0' });
    assert.deepEqual(numbers(first.page, 'e'), [1]);
    const again = await get({ app: APP.key, cursor: page.cursor, timeout: '0' });
    assert.deepEqual(again.body, first.body, 'the lost answer, byte for byte');
    await publish('lossy', 'e', 2);
    const next = await get({ app: APP.key, cursor: first.page.cursor, timeout: '0' });
    assert.deepEqual(numbers(next.page, 'e'), [2]);
  });

  it("another address's poll with a live cursor gets a session of its own (reset), not this one's events", async () => {
    const { page } = await get({ app: APP.key, channel: 'mine' });
    const other = await poll(port, { app: APP.key, channel: 'theirs', cursor: page.cursor, timeout: '0' }, '127.0.0.2');
    assert.equal(other.page.reset, true);
    assert.deepEqual(other.page.events.map((e) => [e.event, e.channel]), [[SUCCEEDED, 'theirs']]);
    assert.doesNotMatch(other.page.cursor, new RegExp(`^${page.cursor.slice(0, 16)}`));
    await publish('mine', 'e', 1);
    const mine = await get({ app: APP.key, cursor: page.cursor, timeout: '0' });
    assert.deepEqual(numbers(mine.page, 'e'), [1], 'the owner keeps its session');
  });

  it('a cursor whose session timed out opens a new one (reset) that resumes history from the cursor', async () => {
    const opened = await get({ app: APP.key, channel: HISTORY });
    await publish(HISTORY, 'placed', 1);
    const first = await get({ app: APP.key, cursor: opened.page.cursor, timeout: '0' });
    assert.deepEqual(numbers(first.page, 'placed'), [1]);
    await until(() => server.sessions.size === 0, 6000, 'the session timed out');
    for (const i of [2, 3]) await publish(HISTORY, 'placed', i);

    let answer = await get({ app: APP.key, channel: HISTORY, cursor: first.page.cursor, timeout: '0' });
    assert.equal(answer.page.reset, true);
    assert.equal(answer.page.events[0]?.event, SUCCEEDED);
    assert.ok(!answer.page.cursor.startsWith(first.page.cursor.slice(0, 16)), 'a new session');
    const seen = numbers(answer.page, 'placed');
    while (seen.length < 2) {
      answer = await get({ app: APP.key, cursor: answer.page.cursor, timeout: '1' });
      seen.push(...numbers(answer.page, 'placed'));
    }
    await publish(HISTORY, 'placed', 4);
    seen.push(...numbers((await get({ app: APP.key, cursor: answer.page.cursor })).page, 'placed'));
    assert.deepEqual(seen, [2, 3, 4], 'no gap, no duplicate');
  });

  it('a session the server closed answers its events and `closed`; the next poll without a cursor opens a new one', async () => {
    const token = await mintToken({ sub: 'poller', roles: ['member'] });
    const { page } = await get({ app: JWT_APP.key, channel: 'tenant.acme.news', token });
    const held = get({ app: JWT_APP.key, cursor: page.cursor });
    await sleep(100);
    await sdk(port, JWT_APP).terminateUserConnections('acme.poller');
    const closed = (await held).page;
    assert.deepEqual(closed.closed, { code: 4009, reason: 'You got disconnected by the app.' });
    assert.deepEqual(closed.events.at(-1), { event: 'pusher:error', data: { code: 4009, message: 'You got disconnected by the app.' } });
    const reopened = await get({ app: JWT_APP.key, channel: 'tenant.acme.news', token });
    assert.deepEqual(
      reopened.page.events.map((e) => e.event),
      ['pusher:signin_success', SUCCEEDED],
    );
  });

  it('refuses a bad cursor or timeout with 400, and channels as SSE does', async () => {
    const { page } = await get({ app: APP.key, channel: 'news' });
    const bad: Query[] = [
      { app: APP.key, cursor: 'nonsense' },
      { app: APP.key, cursor: `${page.cursor.slice(0, 16)}~x~` },
      { app: APP.key, cursor: `${page.cursor},news` },
      { app: APP.key, cursor: page.cursor, timeout: '3' },
      { app: APP.key, cursor: page.cursor, timeout: '-1' },
      { app: APP.key, channel: 'private-encrypted-x' },
    ];
    for (const query of bad) {
      const answer = await get(query);
      assert.equal(answer.status, 400, JSON.stringify({ query, answer: answer.body }));
      assert.equal(typeof answer.body.error, 'string');
    }
    assert.equal((await get({ app: 'nope', channel: 'news' })).status, 404);
    assert.equal((await get({ app: JWT_APP.key, channel: ROOM })).status, 401);
  });

  it('a presence member lives while polls keep coming and leaves once they stop for httpSessionTimeoutSeconds', async () => {
    const ws = await RawClient.connect(port, JWT_APP.key);
    try {
      await ws.established();
      await subscribeRaw(ws, ROOM, await mintToken({ sub: 'ws-user', roles: ['member'] }));
      let { page } = await get({ app: JWT_APP.key, channel: ROOM, token: await mintToken({ sub: 'poll-user', roles: ['member'] }) });
      assert.equal(JSON.parse((await ws.next((f) => f.event === 'pusher_internal:member_added')).data as string).user_id, 'poll-user');
      // Three timeouts' worth of polls, each held for a second: longer than the session timeout.
      for (let i = 0; i < 3; i++) page = (await get({ app: JWT_APP.key, cursor: page.cursor, timeout: '1' })).page;
      assert.deepEqual(ws.frames.filter((f) => f.event === 'pusher_internal:member_removed'), [], 'still a member while polling');
      const removed = await ws.next((f) => f.event === 'pusher_internal:member_removed', 6000);
      assert.equal(JSON.parse(removed.data as string).user_id, 'poll-user');
    } finally {
      ws.close();
    }
  });
});
