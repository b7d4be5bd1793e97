// docs/PROTOCOL.md §10 items 50–60: client events (§2.8) and malformed client input.
import type { Case, CaseContext } from '../types.js';
import { app, assert, assertEqual, connect, errorData, expectInBandError, isError, member, on, uniq } from '../lib/kit.js';
import type { ConnectOptions, RawSocket } from '../lib/raw-socket.js';

/** Opens `n` sockets subscribed to `channel` (presence: one user id per socket from `users`). */
async function subscribers(ctx: CaseContext, channel: string, n: number, opts: ConnectOptions = {}, users: (string | number)[] = []): Promise<RawSocket[]> {
  const sockets: RawSocket[] = [];
  for (let i = 0; i < n; i++) {
    const socket = await connect(ctx, opts);
    await socket.subscribeOk(channel, channel.startsWith('presence-') ? { channelData: member(users[i] ?? uniq('u-')) } : {});
    sockets.push(socket);
  }
  return sockets;
}

const clientEvent = (channel: string, event: string, data: unknown) => ({ event, channel, data });

/** The sender gets an in-band error and none of `others` receives the event. */
async function expectRefusedEvent(sender: RawSocket, others: RawSocket[], channel: string, event: string, data: unknown, what: string, code?: number | null): Promise<void> {
  sender.send(clientEvent(channel, event, data));
  await expectInBandError(sender, what, code);
  for (const other of others) await other.expectNothing(300, on(channel, event), `${what} was relayed`);
}

export const cases: Case[] = [
  {
    id: 50,
    title: 'client-* on a subscribed private channel reaches other subscribers, not the sender',
    async run(ctx) {
      const channel = uniq('private-ce-');
      const [sender, r1, r2] = await subscribers(ctx, channel, 3);
      sender.send(clientEvent(channel, 'client-hello', { x: 1 }));
      for (const r of [r1, r2]) {
        const got = await r.next(on(channel, 'client-hello'), 3000, 'relayed client event');
        assertEqual(got.message, { event: 'client-hello', channel, data: '{"x":1}' }, 'relayed frame');
      }
      await sender.expectNothing(600, on(channel, 'client-hello'), 'client event echoed to its sender');
    },
  },
  {
    id: 51,
    title: 'another socket of the same user does receive the client event',
    async run(ctx) {
      const channel = uniq('presence-ce-');
      const user = uniq('same-');
      const [sender, twin, other] = await subscribers(ctx, channel, 3, {}, [user, user, uniq('other-')]);
      sender.send(clientEvent(channel, 'client-typing', { t: 1 }));
      for (const r of [twin, other]) await r.next(on(channel, 'client-typing'), 3000, 'relayed client event');
      await sender.expectNothing(600, on(channel, 'client-typing'), 'client event echoed to its sender');
    },
  },
  {
    id: 52,
    title: 'on presence channels the relayed frame has top-level user_id (string) of the sender',
    async run(ctx) {
      const channel = uniq('presence-ce-');
      const numericId = 5_200_000 + Math.floor(Math.random() * 100_000); // a number in channel_data
      const [sender, receiver] = await subscribers(ctx, channel, 2, {}, [numericId, uniq('r-')]);
      sender.send(clientEvent(channel, 'client-who', { w: 1 }));
      const got = await receiver.next(on(channel, 'client-who'), 3000, 'relayed client event');
      assertEqual(got.message, { event: 'client-who', channel, data: '{"w":1}', user_id: String(numericId) }, 'relayed presence frame');
    },
  },
  {
    id: 53,
    title: 'client events on public channels are rejected in-band',
    async run(ctx) {
      const channel = uniq('public-ce-');
      const [sender, receiver] = await subscribers(ctx, channel, 2);
      await expectRefusedEvent(sender, [receiver], channel, 'client-nope', { x: 1 }, 'client event on a public channel');
    },
  },
  {
    id: 54,
    title: 'client events on channels the socket is not subscribed to are rejected in-band',
    async run(ctx) {
      const channel = uniq('private-ce-');
      const [receiver] = await subscribers(ctx, channel, 1);
      const [sender] = await subscribers(ctx, uniq('private-elsewhere-'), 1);
      await expectRefusedEvent(sender, [receiver], channel, 'client-nope', { x: 1 }, 'client event on an unsubscribed channel');
    },
  },
  {
    id: 55,
    title: 'client events while disabled for the app are rejected in-band',
    requires: ['noClientEventsAppKey', 'noClientEventsAppSecret'],
    async run(ctx) {
      const channel = uniq('private-ce-');
      const [sender, receiver] = await subscribers(ctx, channel, 2, app(ctx, 'noClientEventsAppKey', 'noClientEventsAppSecret'));
      await expectRefusedEvent(sender, [receiver], channel, 'client-nope', { x: 1 }, 'client event on an app with client events off');
    },
  },
  {
    id: 56,
    title: 'the 11th client event within one second → pusher:error 4301; the connection stays open',
    async run(ctx) {
      const channel = uniq('private-rate-');
      const [sender, receiver] = await subscribers(ctx, channel, 2);
      for (let i = 1; i <= 11; i++) sender.send(clientEvent(channel, 'client-burst', { i }));
      const error = errorData(await sender.next(isError, 3000, 'pusher:error for the 11th event'));
      assertEqual(error, { code: 4301, message: error.message }, 'pusher:error data');
      for (let i = 1; i <= 10; i++) {
        const got = await receiver.next(on(channel, 'client-burst'), 3000, `relayed event ${i} of 10`);
        assertEqual(got.payload, { i }, `relayed event ${i}`);
      }
      await receiver.expectNothing(500, on(channel, 'client-burst'), 'the 11th event was relayed');
      await sender.expectNothing(0, isError, 'more than one rate-limit error for one excess event');
      await sender.assertAlive('sender after 4301');
    },
  },
  {
    id: 57,
    title: 'client event with data over the size limit is rejected in-band',
    async run(ctx) {
      const channel = uniq('private-big-');
      const [sender, receiver] = await subscribers(ctx, channel, 2);
      await expectRefusedEvent(sender, [receiver], channel, 'client-big', { blob: 'x'.repeat(11 * 1024) }, 'client event with 11 KB data');
      sender.send(clientEvent(channel, 'client-fits', { blob: 'y'.repeat(9 * 1024) })); // control: under 10 KB passes
      await receiver.next(on(channel, 'client-fits'), 3000, 'relayed 9 KB client event');
    },
  },
  {
    id: 58,
    title: 'client events on encrypted channels are rejected in-band',
    async run(ctx) {
      const channel = uniq('private-encrypted-ce-');
      const [sender, receiver] = await subscribers(ctx, channel, 2);
      await expectRefusedEvent(sender, [receiver], channel, 'client-secret', { x: 1 }, 'client event on an encrypted channel');
    },
  },
  {
    id: 59,
    title: 'relayed client-event data is a JSON string equal to the serialisation of what was sent',
    async run(ctx) {
      const channel = uniq('private-ser-');
      const [sender, receiver] = await subscribers(ctx, channel, 2);
      const sent = { a: 1, b: 'x/\u00e9 "q"', c: [1, 2.5, { d: null, e: true }], f: {} };
      sender.send(clientEvent(channel, 'client-data', sent));
      const got = await receiver.next(on(channel, 'client-data'), 3000, 'relayed client event');
      assert(typeof got.data === 'string', `relayed data must be a JSON string: ${got.raw}`);
      assertEqual(got.data, JSON.stringify(sent), 'relayed data string');
    },
  },
  {
    id: 60,
    title: 'unknown pusher:* events and invalid JSON produce an in-band error, not a close',
    async run(ctx) {
      const socket = await connect(ctx);
      socket.send({ event: 'pusher:no_such_event', data: {} });
      await expectInBandError(socket, 'unknown pusher:no_such_event', null);
      for (const garbage of ['{"event":"pusher:ping"', 'not json at all', '']) {
        socket.send(garbage);
        await expectInBandError(socket, `invalid JSON ${JSON.stringify(garbage)}`);
      }
    },
  },
];
