// The client SDK in Chromium, from the browser file a site loads (dist/browser/broadcasty.js,
// global `Broadcasty`, built here by scripts/build-client.mjs) on a page of another origin (CORS
// and Origin through the app's allowedOrigins): the browser's own WebSocket, fetch streaming for
// SSE, and long-polling each receive public and private (JWT) events; `auto` falls back to SSE
// when WebSockets fail and remembers it in localStorage, so the reloaded page starts there.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import type { RunningServer } from '../src/server.js';
import { chromiumMissing, launchChromium, type Site } from './support/chromium.js';
import { sdk, until } from './support/cluster.js';
import { serveSdkPage } from './support/sdk-client.js';
import { startTestServer } from './support/in-process.js';
import { JWT_APP, jwtApp, mintToken } from './support/jwt.js';

const NEWS = 'tenant.acme.news';
const ORDERS = 'private-tenant.acme.orders';

/** `?nows` gives the client a WebSocket class that fails to connect, as behind a proxy that drops upgrades. */
const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>sdk</title></head><body>
<script src="/broadcasty.js"></script>
<script>
window.received = [];
window.transports = [];
window.wsAttempts = 0;
class FailingWebSocket {
  constructor() {
    window.wsAttempts++;
    this.readyState = 3;
    setTimeout(() => { this.onerror && this.onerror({}); this.onclose && this.onclose({ code: 1006, reason: '' }); }, 10);
  }
  send() { throw new Error('not open'); }
  close() {}
}
window.openClient = (url, appKey, transport, token, channels) => {
  const options = { url, appKey, transport, getToken: () => token, offline: { store: 'memory' } };
  if (new URLSearchParams(location.search).has('nows')) options.WebSocket = FailingWebSocket;
  window.client = new Broadcasty.BroadcastyClient(options);
  window.client.on('transport', (name) => window.transports.push(name));
  for (const channel of channels) {
    window.client.subscribe({ channel, onMessage: (m) => window.received.push({ channel: m.channel, event: m.event, data: m.data }), onError: (e) => window.received.push({ channel, error: e.code }) });
  }
};
</script>
</body></html>`;

interface PageWindow {
  received: { channel: string; event?: string; data?: unknown; error?: string }[];
  transports: string[];
  wsAttempts: number;
  client: { transport?: string; state: string; disconnect(): void };
  openClient(url: string, appKey: string, transport: string, token: string | null, channels: string[]): void;
}

describe('client SDK in Chromium', { skip: chromiumMissing }, () => {
  let server: RunningServer;
  let site: Site;
  let context: BrowserContext;
  let page: Page;
  let url: string;

  before(async () => {
    site = await serveSdkPage(PAGE);
    server = await startTestServer({ apps: [jwtApp({ allowedOrigins: [site.origin] })] });
    url = `http://127.0.0.1:${server.port}`;
    context = await launchChromium();
    page = context.pages()[0] ?? (await context.newPage());
  });
  after(async () => {
    await context?.close();
    site?.close();
    await server?.shutdown();
  });

  const pageState = () => page.evaluate(() => {
    const w = window as unknown as PageWindow;
    return { received: w.received, transports: w.transports, wsAttempts: w.wsAttempts, transport: w.client?.transport, state: w.client?.state };
  });

  for (const transport of ['ws', 'sse', 'poll'] as const) {
    it(`${transport}: a public and a private channel (with a token) receive what the pusher SDK publishes`, async () => {
      await page.goto(site.origin);
      const token = await mintToken({ sub: `page-${transport}` });
      await page.evaluate(({ url, key, transport, token, channels }) => (window as unknown as PageWindow).openClient(url, key, transport, token, channels), { url, key: JWT_APP.key, transport, token, channels: [NEWS, ORDERS] });
      await until(async () => {
        await sdk(server.port, JWT_APP).trigger([NEWS, ORDERS], 'order.shipped', { id: 9 });
        const { received } = await pageState();
        return received.some((m) => m.channel === NEWS) && received.some((m) => m.channel === ORDERS);
      }, 20_000, 'both channels receive in the page');
      const seen = await pageState();
      assert.equal(seen.transport, transport);
      assert.deepEqual(seen.received.filter((m) => m.error !== undefined), []);
      assert.deepEqual(seen.received.find((m) => m.channel === ORDERS), { channel: ORDERS, event: 'order.shipped', data: { id: 9 } });
      await page.evaluate(() => (window as unknown as PageWindow).client.disconnect());
    });
  }

  it('auto: WebSockets failing, it falls back to SSE, remembers it in localStorage, and the reloaded page starts with SSE', async () => {
    await page.goto(`${site.origin}/?nows`);
    const token = await mintToken({ sub: 'page-auto' });
    const open = () => page.evaluate(({ url, key, token, channels }) => (window as unknown as PageWindow).openClient(url, key, 'auto', token, channels), { url, key: JWT_APP.key, token, channels: [NEWS] });
    await open();
    await until(async () => (await pageState()).state === 'connected', 20_000, 'connected');
    let seen = await pageState();
    assert.deepEqual(seen.transports, ['sse']);
    assert.equal(seen.wsAttempts, 2);
    // With the time it was remembered: it is forgotten after an hour.
    assert.match((await page.evaluate((url) => localStorage.getItem(`broadcasty:transport:${url}`), url)) ?? '', /^sse \d+$/);

    await page.reload();
    await open();
    await until(async () => {
      await sdk(server.port, JWT_APP).trigger(NEWS, 'hello', 1);
      return (await pageState()).received.length > 0;
    }, 20_000, 'an event after the reload');
    seen = await pageState();
    assert.deepEqual(seen.transports, ['sse']);
    assert.equal(seen.wsAttempts, 0, 'the reloaded page did not try WebSockets');
    await page.evaluate(() => localStorage.clear());
  });
});
