// docs/PROTOCOL.md §10 items 22–30 and 41–49: subscribing, authorization, channel names, unsubscribe,
// reconnect (§2.5, §2.6, §3, §4). Presence specifics (31–40) are in ws-presence.ts.
import type { Case, CaseContext } from '../types.js';
import { assert, assertEqual, connect, errorData, expectInBandError, isError, member, on, sleep, uniq } from '../lib/kit.js';
import { once, pusherJs } from '../lib/pusher-js.js';
import type { Frame, RawSocket, SubscribeOptions } from '../lib/raw-socket.js';
import { trigger } from '../lib/rest.js';
import { hmacHex, signChannel } from '../lib/sign.js';

const SUCCEEDED = 'pusher_internal:subscription_succeeded';

/** The exact non-presence ack (§2.5 step 5): `{"event":…,"data":"{}","channel":…}`. */
function assertAck(frame: Frame, channel: string): void {
  assertEqual(frame.message, { event: SUCCEEDED, data: '{}', channel }, `ack for ${channel}`);
}

/** The subscribe must fail in-band: an error reply, no success ever, the socket still open. */
async function expectRejected(socket: RawSocket, channel: string, opts: SubscribeOptions = {}): Promise<Frame> {
  const reply = await socket.subscribe(channel, opts);
  assert(reply.event !== SUCCEEDED, `subscribe ${JSON.stringify(channel)} was accepted: ${reply.raw}`);
  if (reply.event === 'pusher:error') errorData(reply);
  await socket.assertAlive(`socket after rejected subscribe to ${JSON.stringify(channel)}`);
  assert(!socket.received.some(on(channel, SUCCEEDED)), `subscription_succeeded for ${JSON.stringify(channel)} arrived after the error`);
  // The pong came after every reply to the subscribe: drop the companion error frame (§2.5 step 4
  // sends pusher:error *and* pusher:subscription_error) so later reads see fresh frames only.
  socket.discard((f) => f.channel === channel || f.event === 'pusher:error');
  return reply;
}

/** A wrong but well-formed private signature: signed for another channel. */
const wrongAuth = (ctx: CaseContext, socket: RawSocket) => signChannel(ctx.target.secret, ctx.target.key, socket.socketId, 'private-some-other-channel');

/** Publishes one event on `channel` and returns its name. */
async function publish(ctx: CaseContext, channel: string): Promise<string> {
  const name = uniq('ev-');
  await trigger(ctx.target, { name, data: '{"n":1}', channels: [channel] });
  return name;
}

export const cases: Case[] = [
  {
    id: 22,
    title: 'public subscribe with auth:"" → subscription_succeeded with data:"{}" and channel',
    async run(ctx) {
      const channel = uniq('public-');
      assertAck(await (await connect(ctx)).subscribe(channel, { auth: '' }), channel);
    },
  },
  {
    id: 23,
    title: 'public subscribe with auth absent is also accepted',
    async run(ctx) {
      const channel = uniq('public-');
      assertAck(await (await connect(ctx)).subscribe(channel, { auth: null }), channel);
    },
  },
  {
    id: 24,
    title: 'private subscribe with correct key:HMAC(socket_id:channel) succeeds',
    async run(ctx) {
      const channel = uniq('private-');
      assertAck(await (await connect(ctx)).subscribe(channel), channel);
    },
  },
  {
    id: 25,
    title: 'private subscribe with wrong signature → in-band pusher:error (code null, "Invalid signature: …"), socket stays open',
    async run(ctx) {
      const socket = await connect(ctx);
      const channel = uniq('private-');
      await expectRejected(socket, channel, { auth: wrongAuth(ctx, socket) });
      const error = errorData(findError(socket));
      assertEqual(error.code, null, 'pusher:error code');
      assert(error.message.startsWith('Invalid signature'), `message should start with "Invalid signature": ${JSON.stringify(error.message)}`);
    },
  },
  {
    id: 26,
    title: 'the same failure also yields pusher:subscription_error on the channel (compat flag, default on)',
    async run(ctx) {
      const socket = await connect(ctx);
      const channel = uniq('private-');
      socket.send({ event: 'pusher:subscribe', data: { auth: wrongAuth(ctx, socket), channel } });
      const frame = await socket.next(on(channel, 'pusher:subscription_error'), 3000, 'pusher:subscription_error');
      assert(typeof frame.data === 'string', `subscription_error data must be a JSON string: ${frame.raw}`);
      const data = frame.payload as { type?: unknown; error?: unknown; status?: unknown };
      assert(data.type === 'AuthError' && typeof data.error === 'string' && data.status === 401, `expected {type:"AuthError",error:<string>,status:401}: ${frame.raw}`);
      // pusher-js hands that frame to channel.bind('pusher:subscription_error') (and so to Echo's .error()).
      const client = pusherJs(ctx, { badChannelAuth: `${ctx.target.key}:${'0'.repeat(64)}` });
      const seen = await once<{ type?: string; status?: number }>(client.pusher.subscribe(uniq('private-')), 'pusher:subscription_error');
      assert(seen.type === 'AuthError' && seen.status === 401, `pusher-js subscription_error payload: ${JSON.stringify(seen)}`);
    },
  },
  {
    id: 27,
    title: 'private subscribe with missing auth is rejected without crashing',
    async run(ctx) {
      const socket = await connect(ctx);
      await expectRejected(socket, uniq('private-'), { auth: null });
      await expectRejected(socket, uniq('private-'), { auth: '' });
    },
  },
  {
    id: 28,
    title: 'private subscribe whose auth key part is not the app key is rejected (Invalid key in subscription auth data)',
    async run(ctx) {
      const socket = await connect(ctx);
      const channel = uniq('private-');
      const auth = `not-${ctx.target.key}:${hmacHex(ctx.target.secret, `${socket.socketId}:${channel}`)}`;
      await expectRejected(socket, channel, { auth });
      const error = errorData(findError(socket));
      assert(error.message.includes('Invalid key in subscription auth data'), `message should mention "Invalid key in subscription auth data": ${JSON.stringify(error.message)}`);
    },
  },
  {
    id: 29,
    title: 'private subscribe accepts the signature variant that includes channel_data when present',
    async run(ctx) {
      const socket = await connect(ctx);
      const channel = uniq('private-');
      const channelData = member('u29', { a: 1 });
      assertAck(await socket.subscribe(channel, { channelData, auth: socket.defaultAuth(channel, channelData) }), channel);
    },
  },
  {
    id: 30,
    title: 'encrypted (private-encrypted-) subscribe uses the private signature and never requires shared_secret',
    async run(ctx) {
      const socket = await connect(ctx);
      const channel = uniq('private-encrypted-');
      assertAck(await socket.subscribe(channel), channel);
    },
  },
  {
    id: 41,
    title: 'empty channel name is rejected without crashing',
    async run(ctx) {
      const socket = await connect(ctx);
      await expectRejected(socket, '');
      socket.send({ event: 'pusher:subscribe', data: { auth: '' } });
      await expectInBandError(socket, 'subscribe without a channel member');
    },
  },
  {
    id: 42,
    title: 'names with characters outside [-a-zA-Z0-9_=@,.;] are rejected',
    async run(ctx) {
      const socket = await connect(ctx);
      for (const bad of ['has space', 'dollar$', 'slash/x', 'star*', 'caf\u00e9', 'quote"x', 'tab\tx']) await expectRejected(socket, uniq(bad));
      const allowed = uniq('ok-_=@,.;AZaz09'); // every allowed character class
      assertAck(await socket.subscribe(allowed), allowed);
    },
  },
  {
    id: 43,
    title: 'names longer than the configured maximum (default 164) are rejected',
    async run(ctx) {
      const socket = await connect(ctx);
      const base = uniq('long-');
      await expectRejected(socket, base.padEnd(165, 'x'));
      const max = base.padEnd(164, 'y');
      assertAck(await socket.subscribe(max), max);
    },
  },
  {
    id: 44,
    title: "#-prefixed names other than the caller's own #server-to-user-<id> are rejected",
    async run(ctx) {
      const socket = await connect(ctx);
      const me = uniq('me');
      await expectRejected(socket, `#server-to-user-${me}`); // not signed in yet
      await socket.signinOk(JSON.stringify({ id: me }));
      await expectRejected(socket, uniq('#foo'));
      await expectRejected(socket, `#server-to-user-${uniq('other')}`);
      await expectRejected(socket, `#server-to-user-${me}x`);
      assertAck(await socket.subscribe(`#server-to-user-${me}`), `#server-to-user-${me}`);
    },
  },
  {
    id: 45,
    title: 'prefix classification is anchored (foo-private-x is public)',
    async run(ctx) {
      const socket = await connect(ctx);
      // Unsigned subscribes: each name only *contains* a private/presence prefix, so it is public.
      for (const channel of [uniq('foo-private-'), uniq('xpresence-'), uniq('foo-private-encrypted-'), uniq('my-presence-')]) {
        assertAck(await socket.subscribe(channel, { auth: '' }), channel);
      }
    },
  },
  {
    id: 46,
    title: 'duplicate subscribe on the same socket → "Existing subscription to channel <name>" error; subscription kept',
    async run(ctx) {
      const socket = await connect(ctx);
      const channel = uniq('dup-');
      await socket.subscribeOk(channel);
      const reply = await socket.subscribe(channel);
      assertEqual(reply.event, 'pusher:error', `reply to the duplicate subscribe (${reply.raw})`);
      assertEqual(errorData(reply).message, `Existing subscription to channel ${channel}`, 'error message');
      const name = await publish(ctx, channel);
      await socket.next(on(channel, name), 3000, 'event after the duplicate subscribe');
      await socket.expectNothing(500, on(channel, name), 'event delivered twice');
    },
  },
  {
    id: 47,
    title: 'pusher:unsubscribe stops delivery to that socket; no ack frame is sent',
    async run(ctx) {
      const [leaver, stayer] = [await connect(ctx), await connect(ctx)];
      const channel = uniq('unsub-');
      await leaver.subscribeOk(channel);
      await stayer.subscribeOk(channel);
      leaver.unsubscribe(channel);
      await leaver.expectNothing(700, undefined, 'frame in reply to pusher:unsubscribe');
      const name = await publish(ctx, channel);
      await stayer.next(on(channel, name), 3000, 'event on the still-subscribed socket');
      await leaver.expectNothing(500, on(channel, name), 'event delivered after unsubscribe');
    },
  },
  {
    id: 48,
    title: 'disconnect unsubscribes from all channels with the same presence side effects',
    async run(ctx) {
      const [leaver, observer] = [await connect(ctx), await connect(ctx)];
      const channels = [uniq('presence-a-'), uniq('presence-b-')];
      const user = uniq('u48-');
      for (const channel of channels) {
        await observer.subscribeOk(channel, { channelData: member(uniq('obs-')) });
        await leaver.subscribeOk(channel, { channelData: member(user) });
      }
      leaver.terminate();
      for (const channel of channels) {
        const removed = await observer.next(on(channel, 'pusher_internal:member_removed'), 3000, `member_removed on ${channel}`);
        assertEqual(removed.payload, { user_id: user }, `member_removed data on ${channel}`);
      }
    },
  },
  {
    id: 49,
    title: 'after reconnect (new socket_id) pusher-js re-subscribes and succeeds',
    timeoutMs: 20000,
    async run(ctx) {
      const client = pusherJs(ctx);
      const channelName = uniq('private-re-');
      const channel = client.pusher.subscribe(channelName);
      let successes = 0;
      channel.bind('pusher:subscription_succeeded', () => successes++);
      await client.waitForState('connected', 5000);
      const firstId = client.pusher.connection.socket_id;
      while (successes < 1) await sleep(20);
      const mark = client.states.length;
      // Drop the transport under pusher-js (a network cut as it sees it), not pusher.disconnect().
      client.pusher.connection.connection.close();
      await client.waitForState('connected', 8000, mark);
      const secondId = client.pusher.connection.socket_id;
      assert(secondId !== firstId, `socket_id unchanged after reconnect (${firstId})`);
      const deadline = Date.now() + 5000;
      while (successes < 2 && Date.now() < deadline) await sleep(20);
      assertEqual(successes, 2, 'subscription_succeeded count (initial + after reconnect)');
      const got = once<{ n: number }>(channel, 'after-reconnect');
      await trigger(ctx.target, { name: 'after-reconnect', data: '{"n":49}', channels: [channelName] });
      assertEqual(await got, { n: 49 }, 'event received after reconnect');
    },
  },
];

/** The most recent pusher:error the socket received (consumed or not). */
function findError(socket: RawSocket): Frame {
  const frame = [...socket.received].reverse().find(isError);
  assert(frame, `no pusher:error received; frames: ${socket.received.map((f) => f.raw).join(' | ')}`);
  return frame;
}
