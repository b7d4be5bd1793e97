// The client SDK through failures, with the Redis engine so history outlives a server restart
// (docs/PROTOCOL.md §13.3, §15.2–§15.4): the `pusher` SDK streams 300 numbered ticks to a history
// channel while (a) the network between the clients and the server is cut at the relay and (b)
// the server restarts on the same port; ws, sse and poll subscribers in Node, and a page in
// Chromium running the browser file over the browser's own WebSocket, each end with every tick
// once, in order. Publishes an SDK client makes while the server is down wait in its offline
// queue and reach every subscriber after the reconnect, once and in order. A bare-number
// `fromSequence` reads from that offset of the current epoch; a position of a lost epoch is
// reported as resume_failed with where the stream continues.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import type PusherServer from 'pusher';
import type { BroadcastyClient } from '../client/sdk/index.js';
import { chromiumMissing, launchChromium, type Site } from './support/chromium.js';
import { runCli, untilListening, freePort, type CliProcess } from './support/cli-process.js';
import { sdk, sleep, until, writeConfig } from './support/cluster.js';
import { JWT_APP, jwtApp, mintToken } from './support/jwt.js';
import { RedisServer } from './support/redis.js';
import { Relay } from './support/relay.js';
import { streamFaults } from './support/resume-stream.js';
import { connected, record, sdkClient, serveSdkPage, type Recorded } from './support/sdk-client.js';

const COUNT = 300;
const OFFLINE_COUNT = 20;
const TRANSPORTS = ['ws', 'sse', 'poll'] as const;

/** A page of another origin with the browser file: the ticks its handler got, its errors and connects. */
const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>resume</title></head><body>
<script src="/broadcasty.js"></script>
<script>
window.ticks = [];
window.errors = [];
window.connects = 0;
window.warm = false;
window.openClient = (url, appKey, token, channel) => {
  const client = new Broadcasty.BroadcastyClient({ url, appKey, transport: 'ws', getToken: () => token, offline: { store: 'memory' }, reconnect: { minDelayMs: 50, maxDelayMs: 500 } });
  client.on('state', (state) => { if (state === 'connected') window.connects++; });
  client.subscribe({ channel, onMessage: (m) => { if (m.event === 'tick') window.ticks.push(m.data.i); else window.warm = true; }, onError: (e) => window.errors.push(e.code) });
};
</script>
</body></html>`;

interface PageWindow {
  ticks: number[];
  errors: string[];
  connects: number;
  warm: boolean;
  openClient(url: string, appKey: string, token: string, channel: string): void;
}

describe('client SDK resume through a network cut and a server restart (Redis engine)', () => {
  let redis: RedisServer;
  let server: CliProcess;
  let port: number;
  let relay: Relay;
  let config: string;
  const clients: BroadcastyClient[] = [];
  /** The server as its own process, so a restart frees and takes the same port as a deploy does. */
  const start = async () => {
    const cli = runCli(['start', '--config', config, '--port', String(port), '--host', '127.0.0.1']);
    await untilListening(cli);
    return cli;
  };
  const stop = async () => {
    server.child.kill('SIGTERM');
    await server.exited;
  };

  let site: Site | undefined;
  let context: BrowserContext | undefined;
  let page: Page | undefined;

  before(async () => {
    redis = await RedisServer.start();
    site = chromiumMissing ? undefined : await serveSdkPage(PAGE);
    // The page is of another origin: its WebSocket (no CORS) passes the app's default allowedOrigins, *.
    config = writeConfig({ apps: [jwtApp({ history: [{ channels: ['tenant.acme.stream.*'] }] })], redisUrl: redis.url, redisPrefix: `sdk-resume-${Date.now()}` });
    port = await freePort();
    server = await start();
    relay = await Relay.start([port]);
    if (site !== undefined) {
      context = await launchChromium();
      page = context.pages()[0] ?? (await context.newPage());
    }
  });
  after(async () => {
    await context?.close();
    site?.close();
    for (const c of clients) c.disconnect();
    await relay.stop();
    await stop();
    await redis.stop();
  });

  const client = (transport: 'ws' | 'sse' | 'poll', sub: string, roles = ['member']) => {
    const c = sdkClient(relay.port, { appKey: JWT_APP.key, transport, getToken: () => mintToken({ sub, roles }) });
    clients.push(c);
    return c;
  };

  it('every tick once and in order on ws, sse and poll; publishes made offline arrive after the reconnect', async () => {
    const stream = `tenant.acme.stream.${Date.now()}`;
    const offline = `${stream}-offline`;
    const subscribers: { transport: string; ticks: Recorded<{ i: number }>; queued: Recorded<{ j: number }>; connects: number }[] = [];
    for (const transport of TRANSPORTS) {
      const c = client(transport, `reader-${transport}`);
      const subscriber = { transport, ticks: record<{ i: number }>(c, stream), queued: record<{ j: number }>(c, offline), connects: 0 };
      c.on('state', (state) => void (state === 'connected' && subscriber.connects++));
      subscribers.push(subscriber);
      await connected(c);
    }
    if (page !== undefined) {
      await page.goto(`${site!.origin}/`);
      const token = await mintToken({ sub: 'reader-chromium', roles: ['member'] }, { expiresIn: 600 });
      await page.evaluate(([url, key, t, channel]) => (window as unknown as PageWindow).openClient(url, key, t, channel), [`http://127.0.0.1:${relay.port}`, JWT_APP.key, token, stream] as const);
    }
    const browserWarm = async () => page === undefined || (await page.evaluate(() => (window as unknown as PageWindow).warm));
    const writer = client('ws', 'writer', ['publisher']).connect();
    await connected(writer);
    // Every subscriber holds a position before the failures start.
    const pusher: PusherServer = sdk(port, JWT_APP);
    await until(async () => {
      await pusher.trigger(stream, 'warm-up', {});
      return subscribers.every((s) => s.ticks.messages.length > 0) && (await browserWarm());
    }, 15_000, 'every subscriber receives');
    for (const s of subscribers) s.ticks.messages.length = 0;

    const offlinePublishes: Promise<unknown>[] = [];
    const failures = async (i: number) => {
      if (i === 100) relay.cut();
      if (i === 200) {
        await stop();
        // The server is away: the writer's publishes wait in its offline queue.
        await until(() => writer.state !== 'connected', 10_000, 'the writer notices');
        for (let j = 0; j < OFFLINE_COUNT; j++) offlinePublishes.push(writer.publish({ channel: offline, event: 'queued', payload: { j } }));
        await sleep(300);
        assert.equal(writer.stats().queuedPublishes, OFFLINE_COUNT);
        server = await start();
      }
    };
    for (let i = 0; i < COUNT; i++) {
      await failures(i);
      // The server's idempotency window (kept in Redis) makes a retry of a publish whose answer was lost deliver nothing.
      await until(() => pusher.trigger(stream, 'tick', { i }, { idempotency_key: `tick-${stream}-${i}` } as unknown as PusherServer.TriggerParams).then(() => true, () => false), 15_000, `tick ${i} published`);
      await sleep(5);
    }
    await Promise.all(offlinePublishes);
    assert.equal(writer.stats().queuedPublishes, 0);

    for (const s of subscribers) {
      await until(() => s.ticks.messages.filter((m) => m.event === 'tick').length >= COUNT && s.queued.messages.length >= OFFLINE_COUNT, 20_000, `${s.transport} has everything`).catch(() => undefined);
      const ticks = s.ticks.messages.filter((m) => m.event === 'tick').map((m) => m.data.i);
      assert.deepEqual(streamFaults(ticks, COUNT), { received: COUNT, missing: [], repeated: [], outOfOrderAt: [] }, s.transport);
      assert.deepEqual(s.queued.messages.map((m) => m.data.j), Array.from({ length: OFFLINE_COUNT }, (_, j) => j), `${s.transport}: offline publishes`);
      assert.deepEqual([...s.ticks.errors, ...s.queued.errors], [], `${s.transport}: every resume succeeded`);
      assert.ok(s.connects >= 2, `${s.transport}: reconnected (${s.connects} connects)`);
    }
    if (page !== undefined) {
      const seen = () => page!.evaluate(() => ({ ticks: (window as unknown as PageWindow).ticks, errors: (window as unknown as PageWindow).errors, connects: (window as unknown as PageWindow).connects }));
      await until(async () => (await seen()).ticks.length >= COUNT, 20_000, 'chromium has every tick').catch(() => undefined);
      const { ticks, errors, connects } = await seen();
      assert.deepEqual(streamFaults(ticks, COUNT), { received: COUNT, missing: [], repeated: [], outOfOrderAt: [] }, 'chromium');
      assert.deepEqual(errors, [], 'chromium: every resume succeeded');
      assert.ok(connects >= 2, `chromium: reconnected (${connects} connects)`);
    }
  });

  for (const transport of TRANSPORTS) {
    it(`${transport}: fromSequence as a bare offset delivers from there in the current epoch; as a position of an unknown epoch, resume_failed with where it continues`, async () => {
      const channel = `tenant.acme.stream.from-${transport}-${Date.now()}`;
      const pusher = sdk(port, JWT_APP);
      for (let i = 1; i <= 5; i++) await pusher.trigger(channel, 'n', { i });
      const c = client(transport, `from-${transport}`);
      const fromTwo = record<{ i: number }>(c, channel, 2);
      await until(() => fromTwo.messages.length >= 3, 15_000, 'events 3..5');
      await pusher.trigger(channel, 'n', { i: 6 });
      await until(() => fromTwo.messages.length >= 4, 15_000, 'event 6');
      await sleep(200);
      assert.deepEqual(fromTwo.messages.map((m) => m.data.i), [3, 4, 5, 6]);
      assert.deepEqual(fromTwo.messages.map((m) => m.position?.offset), [3, 4, 5, 6]);

      const other = client(transport, `lost-${transport}`);
      const lost = record(other, channel, { epoch: 'an-epoch-long-gone', offset: 3 });
      await until(() => lost.errors.length > 0, 15_000, 'resume_failed');
      assert.equal(lost.errors[0].code, 'resume_failed');
      assert.deepEqual(lost.errors[0].position, { epoch: fromTwo.messages[0].position!.epoch, offset: 6 });
      await pusher.trigger(channel, 'n', { i: 7 });
      await until(() => lost.messages.length > 0, 15_000, 'live events after the failure');
      assert.deepEqual(lost.messages.map((m) => (m.data as { i: number }).i), [7]);
    });
  }
});
