// Webhooks end to end (docs/PROTOCOL.md §6, checklist 106-115): Broadcasty runs as a real process
// whose webhooks point at a real HTTP receiver that validates each one with the `pusher` SDK.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  channelWebhook,
  clientEventWebhook,
  hmacHex,
  memberWebhook,
  subscriptionCountWebhook,
  webhookBody,
  webhookHeaders,
  webhookSignature,
} from '../protocol/index.js';
import { freePort, runCli, untilListening, type CliProcess } from './support/cli-process.js';
import { RawClient } from './support/in-process.js';
import { WebhookReceiver } from './support/webhook-receiver.js';
import { scratchDir } from './support/scratch.js';

const APP = { id: 'hooks', key: 'hooks-key', secret: 'hooks-secret-do-not-log' };
const BATCH_APP = { id: 'batch', key: 'batch-key', secret: 'batch-secret-do-not-log' };

describe('protocol/webhooks', () => {
  it('signs the §6.1 example body to the documented signature', () => {
    const body = webhookBody(1327078148132, [channelWebhook('channel_occupied', 'my-channel')]);
    assert.equal(body, '{"time_ms":1327078148132,"events":[{"name":"channel_occupied","channel":"my-channel"}]}');
    assert.equal(webhookSignature('7ad3773142a6692b25b8', body), 'c19001ae3963ccb13bf618e5b16ba9848e7e74df0993aa0689168e341c6833cf');
    assert.deepEqual(webhookHeaders('278d425bdf160c739803', '7ad3773142a6692b25b8', body), {
      'Content-Type': 'application/json',
      'X-Pusher-Key': '278d425bdf160c739803',
      'X-Pusher-Signature': 'c19001ae3963ccb13bf618e5b16ba9848e7e74df0993aa0689168e341c6833cf',
    });
  });

  it('builds the §6.2 event objects: data as a string, user_id only when given, integer counts', () => {
    assert.equal(JSON.stringify(memberWebhook('member_removed', 'presence-a', '7')), '{"name":"member_removed","channel":"presence-a","user_id":"7"}');
    assert.equal(
      JSON.stringify(clientEventWebhook('private-a', 'client-x', '{"yolo":"woot"}', '1.2')),
      '{"name":"client_event","channel":"private-a","event":"client-x","data":"{\\"yolo\\":\\"woot\\"}","socket_id":"1.2"}',
    );
    assert.deepEqual(clientEventWebhook('presence-a', 'client-x', '{}', '1.2', 'u1'), { name: 'client_event', channel: 'presence-a', event: 'client-x', data: '{}', socket_id: '1.2', user_id: 'u1' });
    assert.deepEqual(subscriptionCountWebhook('c', 3), { name: 'subscription_count', channel: 'c', subscription_count: 3 });
  });
});

function startBroadcasty(config: object): { cli: CliProcess; port: Promise<number> } {
  const dir = scratchDir('webhooks');
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  const portPromise = freePort();
  let cli!: CliProcess;
  const ready = portPromise.then(async (port) => {
    cli = runCli(['start', '--config', file, '--port', String(port), '--host', '127.0.0.1']);
    await untilListening(cli);
    return port;
  });
  return {
    get cli() {
      return cli;
    },
    port: ready,
  };
}

type App = typeof APP;

async function connect(port: number, app: App): Promise<{ client: RawClient; socketId: string }> {
  const client = await RawClient.connect(port, app.key);
  return { client, socketId: await client.established() };
}

async function subscribe(c: { client: RawClient; socketId: string }, app: App, channel: string, userId?: string): Promise<void> {
  const data: Record<string, string> = { channel };
  if (userId !== undefined) {
    data.channel_data = JSON.stringify({ user_id: userId, user_info: { name: userId } });
    data.auth = `${app.key}:${hmacHex(app.secret, `${c.socketId}:${channel}:${data.channel_data}`)}`;
  } else if (channel.startsWith('private-')) {
    data.auth = `${app.key}:${hmacHex(app.secret, `${c.socketId}:${channel}`)}`;
  }
  c.client.send({ event: 'pusher:subscribe', data });
  await c.client.next((f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === channel);
}

function unsubscribe(c: { client: RawClient }, channel: string): void {
  c.client.send({ event: 'pusher:unsubscribe', data: { channel } });
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('webhooks from a running server', () => {
  let receiver: WebhookReceiver;
  let main: { cli: CliProcess; port: Promise<number> };
  let batching: { cli: CliProcess; port: Promise<number> };

  before(async () => {
    receiver = await WebhookReceiver.start([APP, BATCH_APP]);
    // /flaky fails twice with 500; /slow hangs past the 500 ms timeout once; /down never recovers.
    receiver.behave('/flaky', (n) => (n <= 2 ? 500 : 200));
    receiver.behave('/slow', (n) => (n === 1 ? 'hang' : 200));
    receiver.behave('/down', () => 500);
    main = startBroadcasty({
      webhookTimeoutMs: 500,
      apps: [
        {
          ...APP,
          subscriptionCount: true,
          webhooks: [
            // Custom headers may not replace the Pusher ones, whatever their case.
            { url: receiver.url('/all'), headers: { 'X-Custom': 'yes', 'x-pusher-key': 'forged', 'content-type': 'text/plain' } },
            { url: receiver.url('/presence-joins'), eventTypes: ['channel_occupied', 'member_added'], channelPrefix: 'presence-' },
            { url: receiver.url('/audit'), channelSuffix: '-audit' },
            { url: receiver.url('/flaky'), eventTypes: ['client_event'] },
            { url: receiver.url('/slow'), eventTypes: ['cache_miss'] },
          ],
        },
      ],
    });
    batching = startBroadcasty({
      webhookBatchMs: 300,
      webhookRetryWindowMs: 2500,
      apps: [
        {
          ...BATCH_APP,
          webhooks: [
            { url: receiver.url('/batch'), eventTypes: ['client_event', 'channel_occupied'] },
            { url: receiver.url('/down'), eventTypes: ['channel_occupied'] },
          ],
        },
      ],
    });
    await Promise.all([main.port, batching.port]);
  });

  after(async () => {
    for (const server of [main, batching]) {
      server.cli?.child.kill('SIGTERM');
      await server.cli?.exited;
    }
    await receiver.close();
  });

  it('sends every event type, signed and valid, with the §6.2 fields; delays and cancels leaves; filters per target', async () => {
    const port = await main.port;
    const alice = await connect(port, APP);
    const bob = await connect(port, APP);
    await subscribe(alice, APP, 'presence-room', 'alice');
    await subscribe(bob, APP, 'presence-room', 'bob');
    await subscribe(alice, APP, 'my-channel');
    await subscribe(alice, APP, 'private-chat');
    await subscribe(bob, APP, 'private-chat');
    await subscribe(alice, APP, 'cache-prices');
    await subscribe(alice, APP, 'orders-audit');
    alice.client.send({ event: 'client-typing', channel: 'private-chat', data: { yolo: 'woot' } });
    alice.client.send({ event: 'client-wave', channel: 'presence-room', data: { hi: 1 } });
    await receiver.until('client events at /all', () => receiver.events('/all').filter((e) => e.name === 'client_event').length === 2);

    // Leaves: bob leaves presence-room for good; alice leaves and rejoins within the delay.
    const leftAt = Date.now();
    unsubscribe(bob, 'presence-room');
    unsubscribe(alice, 'my-channel');
    unsubscribe(alice, 'orders-audit');
    await pause(50);
    await subscribe(alice, APP, 'orders-audit');
    await receiver.until('delayed vacate and member_removed', () => receiver.events('/all').filter((e) => e.name === 'channel_vacated' || e.name === 'member_removed').length === 2);
    await pause(3500 - (Date.now() - leftAt)); // past any delay that was not cancelled

    const all = receiver.events('/all');
    const of = (channel: string) => all.filter((e) => e.channel === channel).map(({ at: _at, ...e }) => e);
    assert.deepEqual(of('presence-room'), [
      { name: 'channel_occupied', channel: 'presence-room' },
      { name: 'member_added', channel: 'presence-room', user_id: 'alice' },
      { name: 'member_added', channel: 'presence-room', user_id: 'bob' },
      { name: 'client_event', channel: 'presence-room', event: 'client-wave', data: '{"hi":1}', socket_id: alice.socketId, user_id: 'alice' },
      { name: 'member_removed', channel: 'presence-room', user_id: 'bob' },
    ]);
    assert.deepEqual(of('my-channel'), [
      { name: 'channel_occupied', channel: 'my-channel' },
      { name: 'subscription_count', channel: 'my-channel', subscription_count: 1 },
      { name: 'subscription_count', channel: 'my-channel', subscription_count: 0 },
      { name: 'channel_vacated', channel: 'my-channel' },
    ]);
    assert.deepEqual(
      of('private-chat').filter((e) => e.name === 'client_event'),
      [{ name: 'client_event', channel: 'private-chat', event: 'client-typing', data: '{"yolo":"woot"}', socket_id: alice.socketId }],
    );
    assert.deepEqual(of('cache-prices').filter((e) => e.name === 'cache_miss'), [{ name: 'cache_miss', channel: 'cache-prices' }]);
    // The leave-and-rejoin produced neither a vacate nor a second occupied.
    assert.deepEqual(
      of('orders-audit').filter((e) => e.name.startsWith('channel_')),
      [{ name: 'channel_occupied', channel: 'orders-audit' }],
    );
    for (const e of all.filter((e) => e.name === 'channel_vacated' || e.name === 'member_removed')) {
      assert.ok(e.at - leftAt >= 2900 && e.at - leftAt < 4500, `${e.name} came ${e.at - leftAt} ms after the leave`);
    }

    // Every request: valid for the SDK, exact headers, custom header kept, one event per POST.
    for (const d of receiver.deliveries) {
      assert.ok(d.valid, `invalid webhook at ${d.path}: ${JSON.stringify(d.headers)} ${d.body}`);
      assert.equal(d.headers['content-type'], 'application/json');
      assert.equal(d.headers['x-pusher-key'], APP.key);
      assert.equal(d.events.length, 1);
      assert.match(d.body, /^\{"time_ms":\d{13},"events":\[/);
    }
    assert.ok(receiver.attempts('/all').every((d) => d.headers['x-custom'] === 'yes'));

    // Filters: event types and prefix; suffix; each target got only what it asked for.
    assert.deepEqual(
      receiver.events('/presence-joins').map((e) => `${e.name}:${e.channel}`),
      ['channel_occupied:presence-room', 'member_added:presence-room', 'member_added:presence-room'],
    );
    assert.deepEqual(
      receiver.events('/audit').map((e) => e.name),
      ['channel_occupied', 'subscription_count', 'subscription_count', 'subscription_count'],
    );
    alice.client.close();
    bob.client.close();
  });

  it('retries a 500 and a timeout with backoff until the receiver accepts', async () => {
    await receiver.until('the flaky target to accept', () => receiver.delivered('/flaky').length === 2, 10000);
    const flaky = receiver.attempts('/flaky');
    // Two lanes may interleave, but each event was refused twice before it got through.
    for (const event of ['client-typing', 'client-wave']) {
      const tries = flaky.filter((d) => (d.events[0] as { event?: string }).event === event);
      assert.ok(tries.length >= 2 && tries.at(-1)!.status === 200, `${event}: ${tries.map((d) => d.status)}`);
      assert.ok(new Set(tries.map((d) => d.body)).size === 1, 'a retry resends the same body');
      if (tries.length === 3) assert.ok(tries[2].at - tries[1].at >= 1800, 'backoff doubles');
    }
    await receiver.until('the slow target to accept', () => receiver.delivered('/slow').length === 1);
    const slow = receiver.attempts('/slow');
    assert.equal(slow.length, 2);
    assert.ok(slow[1].at - slow[0].at >= 1400, `retried ${slow[1].at - slow[0].at} ms after a 500 ms timeout`);
  });

  it('sends held leaves at once when a single node shuts down, instead of losing them', async () => {
    const carol = await connect(await main.port, APP);
    await subscribe(carol, APP, 'stay-put');
    await receiver.until('stay-put occupied', () => receiver.events('/all').some((e) => e.channel === 'stay-put'));
    main.cli.child.kill('SIGTERM');
    assert.equal(await main.cli.exited, 0);
    assert.ok(receiver.events('/all').some((e) => e.name === 'channel_vacated' && e.channel === 'stay-put'));
  });

  it('batches within the window, keeps order, and drops after the retry window with a log line free of secrets', async () => {
    const port = await batching.port;
    const a = await connect(port, BATCH_APP);
    const b = await connect(port, BATCH_APP);
    await subscribe(a, BATCH_APP, 'private-burst');
    await subscribe(b, BATCH_APP, 'private-burst');
    for (let i = 0; i < 5; i++) a.client.send({ event: 'client-n', channel: 'private-burst', data: { i } });
    await receiver.until('6 batched events', () => receiver.events('/batch').length === 6);
    const posts = receiver.delivered('/batch');
    assert.ok(posts.length < 6, `expected batching, got ${posts.length} POSTs`);
    assert.ok(posts.every((d) => d.valid));
    const events = receiver.events('/batch');
    assert.equal(events[0].name, 'channel_occupied');
    assert.deepEqual(events.slice(1).map((e) => (e as { data?: string }).data), [0, 1, 2, 3, 4].map((i) => `{"i":${i}}`));

    // /down: tried after the 300 ms batch window and 1 s later; the next wait (2 s) ends past the
    // 2.5 s window, so it is dropped (the margin absorbs a first attempt delayed by a loaded machine).
    await receiver.until('the drop', () => batching.cli.stdout().includes('webhook dropped'), 5000);
    assert.equal(receiver.attempts('/down').length, 2);
    const log = batching.cli.stdout() + batching.cli.stderr();
    assert.match(log, new RegExp(`"host":"127\\.0\\.0\\.1:${receiver.port}"`));
    assert.match(log, /"status":500/);
    assert.ok(!log.includes(BATCH_APP.secret) && !log.includes('/down'), 'neither the secret nor the URL path is logged');
    a.client.close();
    b.client.close();
  });
});
