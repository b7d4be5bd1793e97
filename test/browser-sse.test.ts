// /broadcasty/sse in Chromium (docs/PROTOCOL.md §15.2): a page from another origin (CORS through
// the app's allowedOrigins) reads a history channel with a plain EventSource and
// addEventListener, while numbered ticks are published. The app cuts the page's session twice
// with terminate_connections, as a deployment would; EventSource reconnects by itself after
// `retry`, sends the last id as Last-Event-ID, and the page has every tick once, in order.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import type { RunningServer } from '../src/server.js';
import { chromiumMissing, launchChromium, serveSite, type Site } from './support/chromium.js';
import { sdk, sleep, until } from './support/cluster.js';
import { startTestServer } from './support/in-process.js';
import { JWT_APP, jwtApp, mintToken } from './support/jwt.js';
import { publishTicks, streamFaults } from './support/resume-stream.js';

const CHANNEL = 'tenant.acme.ticks';
const COUNT = 120;

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>sse</title></head><body><script>
window.ticks = [];
window.opens = 0;
window.errors = [];
window.subscribed = false;
const source = new EventSource(new URLSearchParams(location.search).get('stream'));
source.addEventListener('open', () => window.opens++);
source.addEventListener('pusher_internal:subscription_succeeded', () => (window.subscribed = true));
source.addEventListener('tick', (e) => window.ticks.push(JSON.parse(JSON.parse(e.data).data).i));
source.addEventListener('pusher:error', (e) => window.errors.push(JSON.parse(e.data).data.code));
</script></body></html>`;

interface PageState {
  ticks: number[];
  opens: number;
  errors: number[];
  subscribed: boolean;
}

let server: RunningServer;
let site: Site;
let context: BrowserContext;

describe('EventSource in Chromium', { skip: chromiumMissing }, () => {
  before(async () => {
    site = await serveSite({ '/': PAGE });
    server = await startTestServer({ apps: [jwtApp({ allowedOrigins: [site.origin], history: [{ channels: [CHANNEL] }] })] });
    context = await launchChromium();
  });
  after(async () => {
    await context?.close();
    site?.close();
    await server?.shutdown();
  });

  const state = (page: Page) =>
    page.evaluate(() => {
      const { ticks, opens, errors, subscribed } = window as unknown as PageState;
      return { ticks, opens, errors, subscribed };
    });

  it('the session cut twice by terminate_connections: EventSource resumes by Last-Event-ID, every tick once, in order', async () => {
    const page = context.pages()[0] ?? (await context.newPage());
    const lastEventIds: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/broadcasty/sse')) void request.allHeaders().then((headers) => lastEventIds.push(headers['last-event-id'] ?? ''));
    });
    const token = await mintToken({ sub: 'viewer', roles: ['member'] });
    const stream = `http://127.0.0.1:${server.port}/broadcasty/sse?${new URLSearchParams({ app: JWT_APP.key, channel: CHANNEL, token })}`;
    await page.goto(`${site.origin}/?${new URLSearchParams({ stream })}`);
    await page.waitForFunction(() => (window as unknown as PageState).subscribed);

    const publisher = sdk(server.port, JWT_APP);
    const publishing = publishTicks([publisher], [CHANNEL], COUNT, 20);
    const reopened = (opens: number) => page.waitForFunction((n) => (window as unknown as PageState).opens === n, opens, { timeout: 10_000 });
    for (const opens of [1, 2]) {
      // Each cut once the page is back from the one before (EventSource waits `retry`, 2000 ms) and got ticks.
      await reopened(opens);
      await sleep(700);
      await publisher.terminateUserConnections('acme.viewer');
    }
    await reopened(3);
    await publishing;

    await until(async () => (await state(page)).ticks.length >= COUNT, 15_000, 'every tick in the page').catch(() => undefined);
    const seen = await state(page);
    assert.deepEqual(streamFaults(seen.ticks, COUNT), { received: COUNT, missing: [], repeated: [], outOfOrderAt: [] });
    assert.deepEqual(seen.errors, [4009, 4009], 'the page saw each cut as the pusher:error event');
    assert.equal(seen.opens, 3, 'EventSource opened the stream again after each cut');
    assert.equal(lastEventIds.length, 3);
    assert.equal(lastEventIds[0], '');
    for (const id of lastEventIds.slice(1)) assert.match(id, new RegExp(`^${CHANNEL}:0:[^:]+:\\d+$`), 'reconnected with Last-Event-ID');
  });
});
