// docs/PROTOCOL.md §10 items 61–70: user authentication, server-to-user channels, terminate and
// watchlist (§2.11, §2.14, §5.7).
import type { Case, CaseContext } from '../types.js';
import { assert, assertEqual, connect, errorData, expectErrorThenClose, isError, member, on, sleep, uniq } from '../lib/kit.js';
import { describeStates, pusherJs } from '../lib/pusher-js.js';
import type { RawSocket } from '../lib/raw-socket.js';
import { restRequest, trigger } from '../lib/rest.js';
import { signUser } from '../lib/sign.js';

const WATCHLIST = 'pusher_internal:watchlist_events';
const userChannel = (id: string) => `#server-to-user-${id}`;

/** A socket signed in as `id` (optionally with a watchlist). */
async function signedIn(ctx: CaseContext, id: string, extra: Record<string, unknown> = {}): Promise<RawSocket> {
  const socket = await connect(ctx);
  await socket.signinOk(JSON.stringify({ id, ...extra }));
  return socket;
}

/** The next watchlist_events frame's events, sorted by name, with its shape checked. */
async function watchlistEvents(socket: RawSocket, what: string): Promise<{ name: string; user_ids: string[] }[]> {
  const frame = await socket.next((f) => f.event === WATCHLIST, 3000, what);
  assertEqual(Object.keys(frame.message).sort(), ['data', 'event'], `${what}: frame members`);
  assert(typeof frame.data === 'string', `${what}: data must be a JSON string: ${frame.raw}`);
  const events = (frame.payload as { events?: { name: string; user_ids: string[] }[] }).events;
  assert(Array.isArray(events), `${what}: data must be {events:[…]}: ${frame.raw}`);
  return events.map((e) => ({ ...e, user_ids: [...e.user_ids].sort() })).sort((a, b) => a.name.localeCompare(b.name));
}

const noWatchlist = (socket: RawSocket, what: string) => socket.expectNothing(700, (f) => f.event === WATCHLIST, what);

export const cases: Case[] = [
  {
    id: 61,
    title: 'valid pusher:signin → pusher:signin_success whose user_data equals the sent string',
    async run(ctx) {
      const socket = await connect(ctx);
      const userData = `{"id":"${uniq('u61-')}","user_info":{"name":"Ann \\/ \\u00e9"}}`; // escapes must survive
      const reply = await socket.signinOk(userData);
      assertEqual(Object.keys(reply.message).sort(), ['data', 'event'], 'signin_success members');
      assert(typeof reply.data === 'string', `signin_success data must be a JSON string: ${reply.raw}`);
      assertEqual(reply.payload, { user_data: userData }, 'signin_success data');
    },
  },
  {
    id: 62,
    title: 'invalid signin signature → pusher:error (code 4009) and no signin_success',
    async run(ctx) {
      const socket = await connect(ctx);
      const userData = JSON.stringify({ id: uniq('u62-') });
      const reply = await socket.signin(userData, `${ctx.target.key}:${'0'.repeat(64)}`);
      assertEqual(reply.event, 'pusher:error', `reply (${reply.raw})`);
      assertEqual(errorData(reply).code, 4009, 'pusher:error code');
      await socket.expectNothing(500, (f) => f.event === 'pusher:signin_success', 'signin_success after a bad signature');
    },
  },
  {
    id: 63,
    title: 'user_data without a non-empty string id is rejected',
    async run(ctx) {
      for (const userData of ['{}', '{"id":""}', '{"id":5}', '{"id":null}', '{"user_info":{"name":"x"}}', 'not json']) {
        const socket = await connect(ctx);
        const reply = await socket.signin(userData);
        assertEqual(reply.event, 'pusher:error', `reply to user_data ${userData} (${reply.raw})`);
        errorData(reply);
        await socket.expectNothing(300, (f) => f.event === 'pusher:signin_success', `signin_success for user_data ${userData}`);
      }
    },
  },
  {
    id: 64,
    title: 'signing in again as a different id on the same socket fails',
    async run(ctx) {
      const [first, second] = [uniq('a-'), uniq('b-')];
      const socket = await signedIn(ctx, first);
      const reply = await socket.signin(JSON.stringify({ id: second }));
      assertEqual(reply.event, 'pusher:error', `reply to the second signin (${reply.raw})`);
      // Still signed in as the first id: its own user channel is allowed, the other is not.
      await socket.subscribeOk(userChannel(first));
      const other = await socket.subscribe(userChannel(second));
      assert(other.event !== 'pusher_internal:subscription_succeeded', `subscribed to ${userChannel(second)} after a failed second signin`);
    },
  },
  {
    id: 65,
    title: 'subscribe to #server-to-user-<own id> after signin succeeds; to another id fails',
    async run(ctx) {
      const me = uniq('me-');
      const socket = await signedIn(ctx, me);
      const ack = await socket.subscribe(userChannel(me));
      assertEqual(ack.message, { event: 'pusher_internal:subscription_succeeded', channel: userChannel(me), data: '{}' }, 'ack');
      const reply = await socket.subscribe(userChannel(uniq('someone-')));
      assert(reply.event !== 'pusher_internal:subscription_succeeded', `subscribed to another user's channel: ${reply.raw}`);
      await socket.assertAlive();
    },
  },
  {
    id: 66,
    title: 'HTTP trigger to #server-to-user-<id> reaches every socket signed in as <id>',
    async run(ctx) {
      const [id, otherId] = [uniq('u66-'), uniq('v66-')];
      const mine = [await signedIn(ctx, id), await signedIn(ctx, id)];
      for (const s of mine) await s.subscribeOk(userChannel(id)); // as pusher-js does after signin
      const other = await signedIn(ctx, otherId);
      await other.subscribeOk(userChannel(otherId));
      const anonymous = await connect(ctx);
      const client = pusherJs(ctx, { userData: JSON.stringify({ id }) });
      const viaPusherJs = new Promise<unknown>((resolve) => client.pusher.user.bind('to-user', resolve));
      client.pusher.signin();
      const deadline = Date.now() + 5000;
      while (!client.pusher.user.serverToUserChannel?.subscribed && Date.now() < deadline) await sleep(20);
      const data = '{"msg":"hi \\/ there"}';
      await trigger(ctx.target, { name: 'to-user', data, channels: [userChannel(id)] });
      for (const s of mine) {
        const got = await s.next(on(userChannel(id), 'to-user'), 3000, 'event for the user');
        assertEqual(got.message, { event: 'to-user', channel: userChannel(id), data }, 'delivered frame');
      }
      for (const s of [other, anonymous]) await s.expectNothing(500, (f) => f.event === 'to-user', 'event for another user');
      assertEqual(await Promise.race([viaPusherJs, sleep(3000).then(() => 'nothing')]), { msg: 'hi / there' }, 'pusher.user.bind payload');
    },
  },
  {
    id: 67,
    title: 'terminate_connections closes signed-in sockets of that user with 4009 and leaves others untouched',
    async run(ctx) {
      const [id, otherId] = [uniq('t67-'), uniq('keep-')];
      const victims = [await signedIn(ctx, id), await signedIn(ctx, id)];
      const bystander = await signedIn(ctx, otherId);
      const presenceOnly = await connect(ctx); // same id, but only as a presence member: not affected
      await presenceOnly.subscribeOk(uniq('presence-t-'), { channelData: member(id) });
      const client = pusherJs(ctx, { userData: JSON.stringify({ id }) });
      client.pusher.signin();
      await client.waitForState('connected', 5000);
      await client.pusher.user.signinDonePromise;
      const reply = await restRequest(ctx.target, 'POST', `/users/${encodeURIComponent(id)}/terminate_connections`, {});
      assertEqual([reply.status, reply.text], [200, '{}'], 'terminate_connections reply');
      for (const s of victims) await expectErrorThenClose(s, 4009, 'terminated socket');
      await bystander.assertAlive('socket of another user');
      await presenceOnly.assertAlive('presence-only socket with the same user_id');
      await client.waitForState('disconnected', 3000);
      await sleep(1500);
      assertEqual(client.pusher.connection.state, 'disconnected', `pusher-js state after 4009 (${describeStates(client.states)})`);
    },
  },
  {
    id: 68,
    title: 'watchlist: after signin the socket receives pusher_internal:watchlist_events with online/offline groups',
    async run(ctx) {
      const [online, offline] = [uniq('on-'), uniq('off-')];
      await signedIn(ctx, online);
      const watcher = await signedIn(ctx, uniq('watcher-'), { watchlist: [online, offline] });
      assertEqual(await watchlistEvents(watcher, 'initial watchlist_events'), [
        { name: 'offline', user_ids: [offline] },
        { name: 'online', user_ids: [online] },
      ], 'initial watchlist events');
    },
  },
  {
    id: 69,
    title: "watchlist: a watched user's first signed-in connection triggers online; last disconnect triggers offline",
    async run(ctx) {
      const watched = uniq('w-');
      const watcher = await signedIn(ctx, uniq('watcher-'), { watchlist: [watched] });
      await watchlistEvents(watcher, 'initial watchlist_events');
      const first = await signedIn(ctx, watched);
      assertEqual(await watchlistEvents(watcher, 'online event'), [{ name: 'online', user_ids: [watched] }], 'after the first connection');
      const second = await signedIn(ctx, watched);
      await noWatchlist(watcher, 'watchlist event for a second connection');
      first.terminate();
      await noWatchlist(watcher, 'offline while a connection remains');
      second.terminate();
      assertEqual(await watchlistEvents(watcher, 'offline event'), [{ name: 'offline', user_ids: [watched] }], 'after the last disconnect');
    },
  },
  {
    id: 70,
    title: 'watchlist over 100 ids: success plus pusher:error 4302',
    async run(ctx) {
      const socket = await connect(ctx);
      const watchlist = Array.from({ length: 101 }, (_, i) => `w70-${i}`);
      const userData = JSON.stringify({ id: uniq('u70-'), watchlist });
      // Either order of the two frames is fine, so wait for each one separately.
      socket.send({ event: 'pusher:signin', data: { auth: signUser(ctx.target.secret, ctx.target.key, socket.socketId, userData), user_data: userData } });
      await socket.next((f) => f.event === 'pusher:signin_success', 3000, 'signin_success');
      const error = await socket.next(isError, 3000, 'pusher:error 4302');
      assertEqual(errorData(error).code, 4302, 'pusher:error code');
      await socket.assertAlive();
    },
  },
];
