// docs/PROTOCOL.md §10 items 31–40: presence channels (§2.5 steps 3–6, §2.7, §2.11 (c), §3 limits).
import type { Case, CaseContext } from '../types.js';
import { app, assert, assertEqual, connect, errorData, expectInBandError, member, on, uniq } from '../lib/kit.js';
import type { ConnectOptions, Frame, RawSocket } from '../lib/raw-socket.js';
import { signChannel } from '../lib/sign.js';

const ADDED = 'pusher_internal:member_added';
const REMOVED = 'pusher_internal:member_removed';

interface Presence {
  count: number;
  ids: string[];
  hash: Record<string, unknown>;
}

/** The presence object of a subscription_succeeded frame, with its shape checked (§2.5 step 5). */
function presenceOf(frame: Frame): Presence {
  assertEqual(frame.event, 'pusher_internal:subscription_succeeded', `reply (${frame.raw})`);
  assert(typeof frame.data === 'string', `presence data must be a JSON string: ${frame.raw}`);
  const p = (frame.payload as { presence?: Presence }).presence;
  assert(p && Number.isInteger(p.count) && Array.isArray(p.ids), `data must be {presence:{count,ids,hash}}: ${frame.raw}`);
  assert(p.hash !== null && typeof p.hash === 'object' && !Array.isArray(p.hash), `presence.hash must be a JSON object: ${frame.raw}`);
  return p;
}

/** Joins `channel` as `userId` on a new socket; returns the socket and its presence view. */
async function join(ctx: CaseContext, channel: string, userId: string, userInfo?: unknown, opts: ConnectOptions = {}): Promise<[RawSocket, Presence]> {
  const socket = await connect(ctx, opts);
  return [socket, presenceOf(await socket.subscribe(channel, { channelData: member(userId, userInfo) }))];
}

const noMemberEvents = (socket: RawSocket, channel: string, what: string) =>
  socket.expectNothing(700, (f) => f.channel === channel && (f.event === ADDED || f.event === REMOVED), what);

export const cases: Case[] = [
  {
    id: 31,
    title: 'presence subscribe verifies socket_id:channel:channel_data over the exact received string (escaped \\/ and \\uXXXX preserved)',
    async run(ctx) {
      const channel = uniq('presence-esc-');
      const [observer] = await join(ctx, channel, uniq('obs-'));
      const user = uniq('u31-');
      // What PHP's json_encode produces: escaped slash and non-ASCII. Signed byte for byte.
      const channelData = `{"user_id":"${user}","user_info":{"name":"Ren\\u00e9e \\/ R"}}`;
      const socket = await connect(ctx);
      const p = presenceOf(await socket.subscribe(channel, { channelData }));
      assertEqual(p.hash[user], { name: 'Renée / R' }, 'user_info of the joiner in hash');
      const added = await observer.next(on(channel, ADDED), 3000, 'member_added');
      assertEqual(added.payload, { user_id: user, user_info: { name: 'Renée / R' } }, 'member_added data');
    },
  },
  {
    id: 32,
    title: 'presence subscription_succeeded data parses to {presence:{count,ids,hash}} with hash an object containing the joiner',
    async run(ctx) {
      const channel = uniq('presence-');
      const [a, b] = [uniq('a-'), uniq('b-')];
      const [, first] = await join(ctx, channel, a, { name: 'A' });
      assertEqual(first, { count: 1, ids: [a], hash: { [a]: { name: 'A' } } }, 'presence of the first member');
      const [, second] = await join(ctx, channel, b, { name: 'B' });
      assertEqual({ ...second, ids: [...second.ids].sort() }, { count: 2, ids: [a, b].sort(), hash: { [a]: { name: 'A' }, [b]: { name: 'B' } } }, 'presence of the second member');
    },
  },
  {
    id: 33,
    title: 'count counts distinct user_ids; a second socket of the same user leaves count unchanged',
    async run(ctx) {
      const channel = uniq('presence-');
      const [x, y] = [uniq('x-'), uniq('y-')];
      await join(ctx, channel, x, { n: 1 });
      await join(ctx, channel, y);
      const [, again] = await join(ctx, channel, x, { n: 1 });
      assertEqual(again.count, 2, 'count after a second socket of an existing user');
      assertEqual([...again.ids].sort(), [x, y].sort(), 'ids after a second socket of an existing user');
    },
  },
  {
    id: 34,
    title: 'member_added goes to every other subscriber, not to the joiner',
    async run(ctx) {
      const channel = uniq('presence-');
      const [[a], [b]] = [await join(ctx, channel, uniq('a-')), await join(ctx, channel, uniq('b-'))];
      await a.next(on(channel, ADDED), 3000, 'member_added for b'); // b's own arrival
      const c = uniq('c-');
      const [joiner] = await join(ctx, channel, c, { name: 'C' });
      for (const [who, s] of [['first member', a], ['second member', b]] as const) {
        const added = await s.next(on(channel, ADDED), 3000, `member_added at the ${who}`);
        assertEqual(added.message, { event: ADDED, channel, data: added.data }, `member_added frame members at the ${who}`);
        assert(typeof added.data === 'string', `member_added data must be a JSON string: ${added.raw}`);
        assertEqual(added.payload, { user_id: c, user_info: { name: 'C' } }, `member_added data at the ${who}`);
      }
      await noMemberEvents(joiner, channel, 'member event sent to the joiner');
    },
  },
  {
    id: 35,
    title: 'no member_added is sent when a user already present opens another connection',
    async run(ctx) {
      const channel = uniq('presence-');
      const x = uniq('x-');
      const [observer] = await join(ctx, channel, uniq('obs-'));
      await join(ctx, channel, x);
      await observer.next(on(channel, ADDED), 3000, 'member_added for the first connection');
      await join(ctx, channel, x);
      await noMemberEvents(observer, channel, 'member event for a second connection of a present user');
    },
  },
  {
    id: 36,
    title: "member_removed is sent only when the user's last connection leaves (unsubscribe or disconnect)",
    async run(ctx) {
      const channel = uniq('presence-');
      const [x, z] = [uniq('x-'), uniq('z-')];
      const [observer] = await join(ctx, channel, uniq('obs-'));
      const [[x1], [x2], [z1]] = [await join(ctx, channel, x), await join(ctx, channel, x), await join(ctx, channel, z)];
      for (let i = 0; i < 2; i++) await observer.next(on(channel, ADDED), 3000, 'member_added');
      x1.unsubscribe(channel);
      await noMemberEvents(observer, channel, 'member_removed while the user still has a connection');
      x2.terminate();
      const gone = await observer.next(on(channel, REMOVED), 3000, 'member_removed after the last connection disconnected');
      assertEqual(gone.message, { event: REMOVED, channel, data: gone.data }, 'member_removed frame members');
      assertEqual(gone.payload, { user_id: x }, 'member_removed data');
      z1.unsubscribe(channel);
      const left = await observer.next(on(channel, REMOVED), 3000, 'member_removed after the last connection unsubscribed');
      assertEqual(left.payload, { user_id: z }, 'member_removed data after unsubscribe');
    },
  },
  {
    id: 37,
    title: 'presence subscribe without channel_data fails unless the socket is signed in',
    async run(ctx) {
      const socket = await connect(ctx);
      const channel = uniq('presence-');
      const reply = await socket.subscribe(channel, { auth: signChannel(ctx.target.secret, ctx.target.key, socket.socketId, channel) });
      assert(reply.event !== 'pusher_internal:subscription_succeeded', `accepted without channel_data: ${reply.raw}`);
      await socket.assertAlive();
    },
  },
  {
    id: 38,
    title: 'presence subscribe without channel_data by a signed-in socket uses user_data.id/user_info',
    async run(ctx) {
      const channel = uniq('presence-');
      const [observer] = await join(ctx, channel, uniq('obs-'));
      const socket = await connect(ctx);
      const id = uniq('s38-');
      await socket.signinOk(JSON.stringify({ id, user_info: { name: 'Signed' } }));
      const p = presenceOf(await socket.subscribe(channel, { auth: signChannel(ctx.target.secret, ctx.target.key, socket.socketId, channel) }));
      assertEqual(p.hash[id], { name: 'Signed' }, 'hash entry of the signed-in user');
      assertEqual(p.count, 2, 'count');
      const added = await observer.next(on(channel, ADDED), 3000, 'member_added');
      assertEqual(added.payload, { user_id: id, user_info: { name: 'Signed' } }, 'member_added data');
    },
  },
  {
    id: 39,
    title: 'invalid channel_data JSON or missing user_id → in-band error, no crash',
    async run(ctx) {
      const socket = await connect(ctx);
      for (const channelData of ['{"user_id":', 'not json', '{"user_info":{"name":"x"}}', '[]', '"just a string"', '{"user_id":null}']) {
        const channel = uniq('presence-');
        socket.send({ event: 'pusher:subscribe', data: { channel, auth: socket.defaultAuth(channel, channelData), channel_data: channelData } });
        await expectInBandError(socket, `channel_data ${channelData}`);
        assert(!socket.received.some(on(channel, 'pusher_internal:subscription_succeeded')), `channel_data ${channelData} was accepted`);
      }
    },
  },
  {
    id: 40,
    title: 'presence channel at the member limit rejects a new user with an error',
    requires: ['smallPresenceAppKey', 'smallPresenceAppSecret'],
    async run(ctx) {
      const opts = app(ctx, 'smallPresenceAppKey', 'smallPresenceAppSecret'); // maxPresenceMembers = 2
      const channel = uniq('presence-full-');
      const [[a], [b]] = [await join(ctx, channel, uniq('a-'), undefined, opts), await join(ctx, channel, uniq('b-'), undefined, opts)];
      await a.next(on(channel, ADDED), 3000, 'member_added for the second member');
      const third = await connect(ctx, opts);
      const reply = await third.subscribe(channel, { channelData: member(uniq('c-')) });
      assert(reply.event !== 'pusher_internal:subscription_succeeded', `third user admitted to a channel limited to 2: ${reply.raw}`);
      if (reply.event === 'pusher:error') errorData(reply);
      await third.assertAlive('rejected socket');
      for (const s of [a, b]) await noMemberEvents(s, channel, 'member event for the rejected user');
    },
  },
];
