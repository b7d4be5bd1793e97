// docs/PROTOCOL.md §10 items 71–75: cache channels (§2.13) and subscription counts (§2.12).
import type { Case, CaseContext } from '../types.js';
import { app, assertEqual, connect, member, on, uniq } from '../lib/kit.js';
import { once, pusherJs } from '../lib/pusher-js.js';
import type { ConnectOptions, RawSocket } from '../lib/raw-socket.js';
import { trigger } from '../lib/rest.js';

const COUNT = 'pusher_internal:subscription_count';

/** Subscribes and returns the frame that immediately follows the ack (the cache answer). */
async function frameAfterAck(ctx: CaseContext, channel: string): Promise<Record<string, unknown>> {
  const socket = await connect(ctx);
  await socket.subscribeOk(channel, channel.startsWith('presence-') ? { channelData: member(uniq('u-')) } : {});
  return (await socket.next(undefined, 3000, `frame after the ack on ${channel}`)).message;
}

/** Expects the next subscription_count frame on `channel` to say `n`, with the exact §2.12 shape. */
async function expectCount(socket: RawSocket, channel: string, n: number, what: string): Promise<void> {
  const frame = await socket.next(on(channel, COUNT), 3000, `subscription_count ${n} (${what})`);
  assertEqual({ ...frame.message, data: typeof frame.data }, { event: COUNT, channel, data: 'string' }, `${what}: frame members (data a JSON string)`);
  assertEqual(frame.payload, { subscription_count: n }, `${what}: data`);
}

function countApp(ctx: CaseContext): ConnectOptions {
  return app(ctx, 'subscriptionCountAppKey', 'subscriptionCountAppSecret');
}

export const cases: Case[] = [
  {
    id: 71,
    title: 'subscribing to an empty cache channel yields pusher:cache_miss (with channel) right after subscription_succeeded',
    async run(ctx) {
      for (const channel of [uniq('cache-'), uniq('private-cache-'), uniq('presence-cache-')]) {
        assertEqual(await frameAfterAck(ctx, channel), { event: 'pusher:cache_miss', channel }, `frame after the ack on ${channel}`);
      }
    },
  },
  {
    id: 72,
    title: 'after an HTTP publish, a new cache-channel subscriber first receives that event verbatim',
    async run(ctx) {
      const channel = uniq('cache-');
      // Escapes a re-serialising server would change (PHP json_encode output).
      const data = '{"a":"x\\/y","u":"\\u00e9","n":1.50}';
      await trigger(ctx.target, { name: 'first', data: '{"old":true}', channels: [channel] });
      await trigger(ctx.target, { name: 'App\\Events\\Cached', data, channels: [channel] });
      assertEqual(await frameAfterAck(ctx, channel), { event: 'App\\Events\\Cached', channel, data }, 'frame after the ack');
    },
  },
  {
    id: 73,
    title: 'client events are not cached',
    async run(ctx) {
      const channel = uniq('private-cache-');
      const [sender, receiver] = [await connect(ctx), await connect(ctx)];
      for (const s of [sender, receiver]) await s.subscribeOk(channel);
      sender.send({ event: 'client-not-cached', channel, data: { x: 1 } });
      await receiver.next(on(channel, 'client-not-cached'), 3000, 'relayed client event');
      assertEqual(await frameAfterAck(ctx, channel), { event: 'pusher:cache_miss', channel }, 'frame after the ack for a late subscriber');
    },
  },
  {
    id: 74,
    title: 'with subscription count enabled, non-presence subscribers receive pusher_internal:subscription_count with subscription_count',
    requires: ['subscriptionCountAppKey', 'subscriptionCountAppSecret'],
    async run(ctx) {
      for (const channel of [uniq('count-'), uniq('private-count-')]) {
        const a = await connect(ctx, countApp(ctx));
        await a.subscribeOk(channel);
        await expectCount(a, channel, 1, 'first subscriber');
        const b = await connect(ctx, countApp(ctx));
        await b.subscribeOk(channel);
        await expectCount(a, channel, 2, 'first subscriber after the second joined');
        await expectCount(b, channel, 2, 'second subscriber');
        b.unsubscribe(channel);
        await expectCount(a, channel, 1, 'remaining subscriber after an unsubscribe');
      }
      // pusher-js turns it into channel.subscriptionCount + a pusher:subscription_count event.
      const client = pusherJs(ctx, { key: ctx.target.options.subscriptionCountAppKey, secret: ctx.target.options.subscriptionCountAppSecret });
      const channel = client.pusher.subscribe(uniq('count-js-'));
      assertEqual(await once(channel, 'pusher:subscription_count'), { subscription_count: 1 }, 'pusher-js pusher:subscription_count payload');
      assertEqual(channel.subscriptionCount, 1, 'pusher-js channel.subscriptionCount');
    },
  },
  {
    id: 75,
    title: 'presence channels never receive subscription_count',
    requires: ['subscriptionCountAppKey', 'subscriptionCountAppSecret'],
    async run(ctx) {
      const channel = uniq('presence-count-');
      const a = await connect(ctx, countApp(ctx));
      await a.subscribeOk(channel, { channelData: member(uniq('a-')) });
      const b = await connect(ctx, countApp(ctx));
      await b.subscribeOk(channel, { channelData: member(uniq('b-')) });
      b.unsubscribe(channel);
      for (const s of [a, b]) await s.expectNothing(1000, (f) => f.event === COUNT, 'subscription_count on a presence channel');
    },
  },
];
