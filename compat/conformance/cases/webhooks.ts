// docs/PROTOCOL.md §10 items 106–115: webhooks (§6). The server's webhook app must be configured with
//   webhooks: [{url: "http://127.0.0.1:<webhookPort>/all"},
//              {url: "http://127.0.0.1:<webhookPort>/only-member-added", eventTypes: ["member_added"]}]
// and options webhookPort/webhookAppId/webhookAppKey/webhookAppSecret name it. Every case uses its
// own channel names, so the shared receiver can serve them all.
import Pusher from 'pusher';
import type { Case, CaseContext, Target } from '../types.js';
import { hmacHex, PhpPusher } from '../lib/http-client.js';
import { appTarget, assert, assertEqual, connect, sleep, uniq } from '../lib/kit.js';
import type { RawSocket } from '../lib/raw-socket.js';
import { WebhookReceiver, type Hit } from '../lib/webhook-receiver.js';

const REQUIRES = ['webhookPort', 'webhookAppId', 'webhookAppKey', 'webhookAppSecret'];

interface Env {
  ctx: CaseContext;
  app: Target;
  receiver: WebhookReceiver;
  /** A socket on the webhook app. */
  peer(): Promise<RawSocket>;
}

async function env(ctx: CaseContext): Promise<Env> {
  const app = appTarget(ctx, 'webhookAppId', 'webhookAppKey', 'webhookAppSecret');
  const receiver = await WebhookReceiver.acquire(ctx, Number(ctx.target.options.webhookPort));
  return { ctx, app, receiver, peer: () => connect(ctx, { key: app.key, secret: app.secret }) };
}

const on = (path: string, name: string, channel: string) => (h: Hit) => h.delivery.path === path && h.event.name === name && h.event.channel === channel;
const all = (name: string, channel: string) => on('/all', name, channel);

/** The Node SDK's own validation (`pusher.webhook({headers, rawBody}).isValid()`). */
function nodeValid(app: Target, hit: Hit): boolean {
  const sdk = new Pusher({ appId: app.appId, key: app.key, secret: app.secret, host: 'unused.invalid' });
  return sdk.webhook({ headers: hit.delivery.headers, rawBody: hit.delivery.body }).isValid();
}

function webhookCase(id: number, title: string, run: (e: Env) => Promise<void>, timeoutMs = 20000): Case {
  return { id, title, requires: REQUIRES, timeoutMs, run: async (ctx) => run(await env(ctx)) };
}

export const cases: Case[] = [
  webhookCase(106, 'webhook POST has Content-Type: application/json exactly, X-Pusher-Key, and X-Pusher-Signature = HMAC(raw body)', async ({ app, receiver, peer }) => {
    const ch = uniq('wh106-');
    await (await peer()).subscribeOk(ch);
    const [hit] = await receiver.waitFor(all('channel_occupied', ch), 5000, `channel_occupied for ${ch}`);
    const h = hit.delivery.headers;
    assertEqual(h['content-type'], 'application/json', 'Content-Type');
    assertEqual(h['x-pusher-key'], app.key, 'X-Pusher-Key');
    assertEqual(h['x-pusher-signature'], hmacHex(app.secret, hit.delivery.body), 'X-Pusher-Signature');
  }),
  webhookCase(107, 'Node pusher.webhook().isValid() and PHP webhook() accept the webhooks', async ({ app, receiver, peer }) => {
    const ch = uniq('wh107-');
    await (await peer()).subscribeOk(ch);
    const [hit] = await receiver.waitFor(all('channel_occupied', ch), 5000, `channel_occupied for ${ch}`);
    assert(nodeValid(app, hit), `Node SDK rejected the webhook: headers ${JSON.stringify(hit.delivery.headers)} body ${hit.delivery.body}`);
    const parsed = new PhpPusher(app).webhook(hit.delivery.headers, hit.delivery.body);
    assert(parsed.events.length > 0, 'PHP webhook(): no events');
    // The check is not vacuous: one changed byte must fail it.
    const forged = { ...hit, delivery: { ...hit.delivery, body: hit.delivery.body.replace(ch, `${ch}x`) } };
    assert(!nodeValid(app, forged), 'Node SDK accepted a forged body — the signature check did not run');
  }),
  webhookCase(108, 'webhook body is {"time_ms":<int>,"events":[…]}', async ({ receiver, peer }) => {
    const ch = uniq('wh108-');
    const before = Date.now();
    await (await peer()).subscribeOk(ch);
    const [hit] = await receiver.waitFor(all('channel_occupied', ch), 5000, `channel_occupied for ${ch}`);
    const body = hit.delivery.json!;
    assertEqual(Object.keys(body).sort(), ['events', 'time_ms'], 'top-level keys');
    assert(Number.isInteger(body.time_ms) && Math.abs((body.time_ms as number) - before) < 60_000, `time_ms must be an integer ms timestamp near now, got ${body.time_ms}`);
    assert(Array.isArray(body.events) && body.events.every((e) => typeof e.name === 'string'), `events must be an array of {name,…}: ${hit.delivery.body}`);
    assertEqual(hit.event, { name: 'channel_occupied', channel: ch }, 'channel_occupied event object');
  }),
  webhookCase(109, 'channel_occupied on the first subscriber; channel_vacated about 3 s after the last leaves', async ({ receiver, peer }) => {
    const ch = uniq('wh109-');
    const [a, b] = [await peer(), await peer()];
    await a.subscribeOk(ch);
    await b.subscribeOk(ch);
    await receiver.waitFor(all('channel_occupied', ch), 5000, `channel_occupied for ${ch}`);
    a.unsubscribe(ch);
    await sleep(200);
    b.close();
    const left = Date.now();
    const [vacated] = await receiver.waitFor(all('channel_vacated', ch), 10_000, `channel_vacated for ${ch}`);
    const delay = vacated.delivery.at - left;
    assert(delay >= 2000 && delay <= 8000, `channel_vacated should arrive about 3 s after the last subscriber left, came after ${delay} ms`);
    assertEqual(receiver.hits(all('channel_occupied', ch)).length, 1, 'channel_occupied count (second subscriber must not fire one)');
    assertEqual(receiver.hits(all('channel_vacated', ch)).length, 1, 'channel_vacated count');
  }),
  webhookCase(110, 'leave and rejoin within 3 s: neither channel_vacated nor a second channel_occupied', async ({ receiver, peer }) => {
    const ch = uniq('wh110-');
    const a = await peer();
    await a.subscribeOk(ch);
    await receiver.waitFor(all('channel_occupied', ch), 5000, `channel_occupied for ${ch}`);
    a.unsubscribe(ch);
    await sleep(800);
    await (await peer()).subscribeOk(ch);
    await sleep(5000);
    assertEqual(receiver.hits(all('channel_vacated', ch)).length, 0, 'channel_vacated count');
    assertEqual(receiver.hits(all('channel_occupied', ch)).length, 1, 'channel_occupied count');
  }),
  webhookCase(111, 'member_added / member_removed once per distinct user, user_id as a string', async ({ receiver, peer }) => {
    const ch = uniq('presence-wh111-');
    const [s1, s2, s3] = [await peer(), await peer(), await peer()];
    await s1.subscribeOk(ch, { channelData: '{"user_id":7,"user_info":{"n":1}}' });
    await s2.subscribeOk(ch, { channelData: '{"user_id":7,"user_info":{"n":1}}' });
    await s3.subscribeOk(ch, { channelData: '{"user_id":"abc"}' });
    await receiver.waitFor(all('member_added', ch), 5000, 'member_added for both users', 2);
    await sleep(500);
    const added = receiver.hits(all('member_added', ch)).map((h) => h.event);
    assertEqual(added.map((e) => e.user_id).sort(), ['7', 'abc'], 'member_added user_ids (one per user, strings)');
    s1.close();
    await sleep(4000); // past the 3 s removal delay: user 7 still has s2
    assertEqual(receiver.hits(all('member_removed', ch)).length, 0, 'member_removed while user 7 still has a connection');
    s2.close();
    const [removed] = await receiver.waitFor(all('member_removed', ch), 8000, 'member_removed for user 7');
    assertEqual(removed.event, { name: 'member_removed', channel: ch, user_id: '7' }, 'member_removed event');
  }, 25000),
  webhookCase(112, 'client_event has channel, event, data (string), socket_id, and user_id only on presence', async ({ receiver, peer }) => {
    const priv = uniq('private-wh112-');
    const pres = uniq('presence-wh112-');
    const [a, b] = [await peer(), await peer()];
    for (const p of [a, b]) {
      await p.subscribeOk(priv);
      await p.subscribeOk(pres, { channelData: JSON.stringify({ user_id: `u-${p === a ? 'a' : 'b'}` }) });
    }
    a.send({ event: 'client-typing', channel: priv, data: { x: 1, s: 'é/' } });
    a.send({ event: 'client-typing', channel: pres, data: { y: 2 } });
    const [onPriv] = await receiver.waitFor(all('client_event', priv), 5000, `client_event on ${priv}`);
    assertEqual(onPriv.event, { name: 'client_event', channel: priv, event: 'client-typing', data: JSON.stringify({ x: 1, s: 'é/' }), socket_id: a.socketId }, 'client_event on a private channel');
    const [onPres] = await receiver.waitFor(all('client_event', pres), 5000, `client_event on ${pres}`);
    assertEqual(onPres.event, { name: 'client_event', channel: pres, event: 'client-typing', data: '{"y":2}', socket_id: a.socketId, user_id: 'u-a' }, 'client_event on a presence channel');
  }),
  webhookCase(113, 'cache_miss fires when a client subscribes to an empty cache channel', async ({ receiver, peer }) => {
    const ch = uniq('cache-wh113-');
    await (await peer()).subscribeOk(ch);
    const [hit] = await receiver.waitFor(all('cache_miss', ch), 5000, `cache_miss for ${ch}`);
    assertEqual(hit.event, { name: 'cache_miss', channel: ch }, 'cache_miss event');
  }),
  webhookCase(114, 'a non-2xx webhook response is retried (with backoff)', async ({ app, receiver, peer }) => {
    const ch = uniq('wh114-');
    receiver.failFirst.add(ch);
    await (await peer()).subscribeOk(ch);
    const hits = await receiver.waitFor(all('channel_occupied', ch), 45_000, `retry of channel_occupied for ${ch}`, 2);
    assertEqual(hits.map((h) => h.delivery.status), [500, 200], 'attempt statuses');
    assert(hits[1].delivery.at - hits[0].delivery.at >= 200, `retry came ${hits[1].delivery.at - hits[0].delivery.at} ms after the failure — expected a backoff`);
    assert(nodeValid(app, hits[1]), 'the retried webhook has a valid signature');
    await sleep(1500);
    assertEqual(receiver.hits(all('channel_occupied', ch)).length, 2, 'no further attempt after a 200');
  }, 60000),
  webhookCase(115, 'per-webhook event-type filter respected; each signature matches the body actually sent', async ({ app, receiver, peer }) => {
    const ch = uniq('presence-wh115-');
    const s = await peer();
    await s.subscribeOk(ch, { channelData: '{"user_id":"f1"}' });
    s.send({ event: 'client-x', channel: ch, data: {} });
    await receiver.waitFor(on('/only-member-added', 'member_added', ch), 5000, 'member_added on /only-member-added');
    s.close();
    await receiver.waitFor(all('channel_vacated', ch), 10_000, `channel_vacated for ${ch} on /all`);
    await sleep(300);
    const filtered = receiver.hits((h) => h.delivery.path === '/only-member-added' && h.event.channel === ch);
    assertEqual(filtered.map((h) => h.event.name), ['member_added'], 'events of this channel on the member_added-only webhook');
    const allNames = new Set(receiver.hits((h) => h.event.channel === ch && h.delivery.path === '/all').map((h) => h.event.name));
    for (const name of ['channel_occupied', 'member_added', 'member_removed', 'channel_vacated']) assert(allNames.has(name), `/all is missing ${name} for ${ch}: ${[...allNames]}`);
    const sameBodies = receiver.deliveries.filter((d) => d.path === '/only-member-added' && d.body.includes(ch));
    for (const d of sameBodies) {
      assert(!d.json?.events?.some((e) => e.name !== 'member_added'), `filtered webhook carries other event types: ${d.body}`);
      assert(nodeValid(app, { delivery: d, event: d.json!.events![0] }), `filtered webhook signature does not match the body sent: ${d.body}`);
    }
  }, 25000),
];
