// docs/PROTOCOL.md §10 items 116–123: Laravel Echo 2.x (imported as ESM, pusher-js passed as
// `options.Pusher`) against the server, with a stand-in Laravel app answering /broadcasting/auth
// and publishing through the PHP-shape client exactly as PusherBroadcaster does (§4.3, §8).
import type { Case, CaseContext } from '../types.js';
import { send } from '../lib/http-client.js';
import { assert, assertEqual, connect, on, uniq } from '../lib/kit.js';
import { connected, deferred, LaravelApp, nodeEcho, pusherOf, type Broadcaster } from '../lib/laravel-app.js';

type Echo = ReturnType<typeof nodeEcho>;
/** The channel-object surface shared by Echo's public/private/presence classes. */
interface EchoChannel {
  subscribed(cb: () => void): EchoChannel;
  error(cb: (e: unknown) => void): EchoChannel;
  listen(event: string, cb: (data: any) => void): EchoChannel;
}

/** Waits for pusher:subscription_succeeded on an Echo channel (fails fast on subscription_error). */
function subscribed<C extends EchoChannel>(channel: C, what: string): Promise<C> {
  const done = deferred<C>(`${what}: subscription`);
  channel.subscribed(() => done.resolve(channel)).error((e: unknown) => done.reject(new Error(`${what}: subscription error ${JSON.stringify(e)}`)));
  return done.promise;
}

/** A connected Echo client of a fresh stand-in app. */
async function setup(ctx: CaseContext, broadcaster: Broadcaster = 'pusher', token = 'token-1'): Promise<{ app: LaravelApp; echo: Echo }> {
  const app = await LaravelApp.start(ctx);
  const echo = nodeEcho(ctx, app, broadcaster, token);
  await connected(echo);
  return { app, echo };
}

const num = () => String(Math.floor(Math.random() * 1e9));
const settle = (ms = 500) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export const cases: Case[] = [
  {
    id: 116,
    title: 'Laravel broadcast (PusherBroadcaster over the PHP SDK) reaches Echo listen("OrderShipped") and a dotted broadcastAs alias',
    async run(ctx) {
      const { app, echo } = await setup(ctx);
      const id = num();
      const order = deferred<unknown>('App\\Events\\OrderShipped');
      await subscribed(echo.private(`orders.${id}`).listen('OrderShipped', order.resolve), `private-orders.${id}`);
      const news = deferred<unknown>('.news.published');
      const newsChannel = `news.${id}`;
      await subscribed(echo.channel(newsChannel).listen('.news.published', news.resolve), newsChannel);
      const payload = { order: { id: Number(id), url: 'https://shop.test/o/1', note: 'café ☕ "fragile"' }, tags: ['a/b', 'ü'] };
      await app.broadcast([`private-orders.${id}`], 'App\\Events\\OrderShipped', payload);
      assertEqual(await order.promise, payload, 'OrderShipped payload');
      await app.broadcast([newsChannel], 'news.published', { title: 'Hello' });
      assertEqual(await news.promise, { title: 'Hello' }, 'broadcastAs payload');
    },
  },
  {
    id: 117,
    title: 'broadcast(...)->toOthers() with the X-Socket-ID of an Echo client excludes that client only',
    async run(ctx) {
      const { app, echo: sender } = await setup(ctx);
      const other = nodeEcho(ctx, app, 'pusher', 'token-1');
      await connected(other);
      const id = num();
      let senderGot: unknown;
      const otherGot = deferred<unknown>('OrderShipped on the other client');
      await subscribed(sender.private(`orders.${id}`).listen('OrderShipped', (e: unknown) => (senderGot = e)), 'sender subscription');
      await subscribed(other.private(`orders.${id}`).listen('OrderShipped', otherGot.resolve), 'other subscription');
      const socketId = sender.socketId();
      assert(socketId && /^\d+\.\d+$/.test(socketId), `Echo.socketId() must match ^\\d+\\.\\d+$ for Laravel to accept it, got ${socketId}`);
      // What Echo's axios interceptor does: the request carries X-Socket-ID.
      const reply = await send(`${app.url}/orders/${id}/ship`, 'POST', { 'X-Socket-ID': socketId! }, '');
      assertEqual(reply.status, 200, 'controller status (a non-200 from the server would surface as BroadcastException)');
      assert(app.php.requests.at(-1)!.body!.includes(`"socket_id":"${socketId}"`), 'PHP body carries socket_id');
      assertEqual(await otherGot.promise, { order: { id: Number(id), status: 'shipped' } }, 'payload on the other client');
      await settle();
      assertEqual(senderGot, undefined, 'event received by the X-Socket-ID sender');
    },
  },
  {
    id: 118,
    title: 'a broadcast to more than 100 channels (chunked by 100, a 1-channel chunk as "channel") reaches all of them',
    timeoutMs: 30000,
    async run(ctx) {
      const { app, echo } = await setup(ctx);
      const base = uniq('feed-');
      const names = Array.from({ length: 150 }, (_, i) => `${base}.${i}`);
      const received = new Map<string, number>();
      const all = deferred<void>('events on 150 + 101 channels', 15000);
      let expected = 150 + 101;
      await Promise.all(names.map((n) => subscribed(echo.channel(n).listen('.feed.updated', () => {
        received.set(n, (received.get(n) ?? 0) + 1);
        if (--expected === 0) all.resolve();
      }), n)));
      const before = app.php.requests.length;
      await app.broadcast(names, 'feed.updated', { n: 150 });
      await app.broadcast(names.slice(0, 101), 'feed.updated', { n: 101 });
      const shapes = app.php.requests.slice(before).map((r) => {
        const body = JSON.parse(r.body!) as { channel?: string; channels?: string[] };
        return body.channel !== undefined ? 'channel' : `channels[${body.channels!.length}]`;
      });
      assertEqual(shapes, ['channels[100]', 'channels[50]', 'channels[100]', 'channel'], 'PHP request shapes');
      await all.promise;
      assertEqual(names.filter((n) => received.get(n) !== (names.indexOf(n) < 101 ? 2 : 1)), [], 'channels with a wrong number of deliveries');
    },
  },
  {
    id: 119,
    title: 'Echo.private("App.Models.User.1").notification(cb) receives a Laravel notification; user 2 is refused',
    async run(ctx) {
      const { app, echo } = await setup(ctx);
      const got = deferred<unknown>('BroadcastNotificationCreated');
      const channel = echo.private('App.Models.User.1') as unknown as EchoChannel & { notification(cb: (n: unknown) => void): EchoChannel };
      await subscribed(channel.notification(got.resolve), 'private-App.Models.User.1');
      // BroadcastNotificationCreated::broadcastWith = notification data + id + type.
      const notification = { invoice_id: 42, amount: '€10/mo', id: '9f1c6a0e-7f7e-4c55-9b7a-2b8f3a3c1d11', type: 'App\\Notifications\\InvoicePaid' };
      await app.broadcast(['private-App.Models.User.1'], 'Illuminate\\Notifications\\Events\\BroadcastNotificationCreated', notification);
      assertEqual(await got.promise, notification, 'notification payload');
      const intruder = nodeEcho(ctx, app, 'pusher', 'token-2');
      const refused = deferred<{ status?: number }>('subscription_error for user 2');
      intruder.private('App.Models.User.1').error((e: unknown) => refused.resolve(e as { status?: number }));
      assertEqual((await refused.promise).status, 403, 'auth endpoint status seen by Echo .error()');
    },
  },
  {
    id: 120,
    title: 'Echo.join(room).here/joining/leaving receive Laravel user_info objects',
    async run(ctx) {
      const { app, echo: taylor } = await setup(ctx);
      const room = `chat.${num()}`;
      const here1 = deferred<unknown[]>('here for Taylor');
      const joining = deferred<unknown>('joining seen by Taylor');
      const leaving = deferred<unknown>('leaving seen by Taylor');
      taylor.join(room).here(here1.resolve).joining(joining.resolve).leaving(leaving.resolve);
      assertEqual(await here1.promise, [{ id: 1, name: 'Taylor' }], 'here() for the first member');
      const abigail = nodeEcho(ctx, app, 'pusher', 'token-2');
      const here2 = deferred<{ id: number }[]>('here for Abigail');
      abigail.join(room).here(here2.resolve);
      assertEqual((await here2.promise).sort((a, b) => a.id - b.id), [{ id: 1, name: 'Taylor' }, { id: 2, name: 'Abigail' }], 'here() for the second member');
      assertEqual(await joining.promise, { id: 2, name: 'Abigail' }, 'joining()');
      abigail.leave(room);
      assertEqual(await leaving.promise, { id: 2, name: 'Abigail' }, 'leaving()');
      const presence = app.authLog.find((r) => r.request.channel_name === `presence-${room}`)!;
      assert(/"channel_data":"{\\"user_id\\":\\"1\\"/.test(presence.response), `channel_data must carry user_id as a PHP string: ${presence.response}`);
    },
  },
  {
    id: 121,
    title: 'whisper("typing") is received by listenForWhisper("typing") on other clients, not the sender',
    async run(ctx) {
      const { app, echo: a } = await setup(ctx);
      const b = nodeEcho(ctx, app, 'pusher', 'token-2');
      const room = `chat.${num()}`;
      let selfGot: unknown;
      const got = deferred<unknown>('whisper on the other client');
      const hereA = deferred<unknown>('A joined');
      const hereB = deferred<unknown>('B joined');
      const channelA = a.join(room).here(hereA.resolve).listenForWhisper('typing', (e: unknown) => (selfGot = e));
      b.join(room).here(hereB.resolve).listenForWhisper('typing', got.resolve);
      await Promise.all([hereA.promise, hereB.promise]);
      channelA.whisper('typing', { name: 'Taylor', text: 'é/…' });
      assertEqual(await got.promise, { name: 'Taylor', text: 'é/…' }, 'whisper payload');
      await settle();
      assertEqual(selfGot, undefined, 'whisper echoed to the sender');
    },
  },
  {
    id: 122,
    title: 'Echo.encryptedPrivate("vault.N") decrypts an event the PHP SDK encrypted with the master key; the server relays ciphertext verbatim',
    async run(ctx) {
      const { app, echo } = await setup(ctx);
      const id = num();
      const got = deferred<unknown>('decrypted SecretSaved');
      const channel = echo.encryptedPrivate(`vault.${id}`) as unknown as EchoChannel;
      await subscribed(channel.listen('SecretSaved', got.resolve), `private-encrypted-vault.${id}`);
      const wire = await connect(ctx);
      await wire.subscribeOk(`private-encrypted-vault.${id}`);
      const payload = { secret: 'pa/ss wörd', n: 1 };
      await app.broadcast([`private-encrypted-vault.${id}`], 'App\\Events\\SecretSaved', payload);
      assertEqual(await got.promise, payload, 'decrypted payload');
      const sent = (JSON.parse(app.php.requests.at(-1)!.body!) as { data: string }).data;
      assert(/^{"nonce":"[^"]+","ciphertext":"[^"]+"}$/.test(sent), `PHP sent an encrypted envelope: ${sent}`);
      const frame = await wire.next(on(`private-encrypted-vault.${id}`, 'App\\Events\\SecretSaved'), 3000, 'SecretSaved frame on the raw socket');
      assertEqual(frame.data, sent, 'ciphertext relayed verbatim');
    },
  },
  {
    id: 123,
    title: 'Echo broadcaster "reverb" (cluster "", forceTLS false, enabledTransports ws/wss) connects over ws and receives',
    async run(ctx) {
      const { app, echo } = await setup(ctx, 'reverb');
      const transport = (pusherOf(echo).connection as unknown as { connection?: { transport?: { name?: string } } }).connection?.transport;
      assertEqual(transport?.name, ctx.target.tls ? 'wss' : 'ws', 'pusher-js transport');
      const socketId = echo.socketId();
      assert(socketId && /^\d+\.\d+$/.test(socketId), `socket id ${socketId}`);
      const ch = `reverb.${num()}`;
      const got = deferred<unknown>('event on the reverb-configured client');
      await subscribed(echo.channel(ch).listen('.ping', got.resolve), ch);
      await app.broadcast([ch], 'ping', { via: 'reverb' });
      assertEqual(await got.promise, { via: 'reverb' }, 'payload');
    },
  },
];
