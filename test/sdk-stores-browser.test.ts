// The SDK's offline stores in Chromium, through the browser file a site loads
// (dist/browser/broadcasty.js, built here by scripts/build-client.mjs): `offlineStore('auto', …)`
// is IndexedDB, or localStorage where IndexedDB is missing or refuses to open, and what it holds
// survives a page reload in order. End to end: a publish made while the server is unreachable waits in
// IndexedDB; the reloaded page's client sends it on connect, and it arrives once.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import type { QueuedPublish } from '../client/sdk/types.js';
import type { RunningServer } from '../src/server.js';
import { chromiumMissing, launchChromium, type Site } from './support/chromium.js';
import { until } from './support/cluster.js';
import { serveSdkPage } from './support/sdk-client.js';
import { RawClient, startTestServer } from './support/in-process.js';
import { subscribeRaw } from './support/jwt-clients.js';
import { broadcasty, JWT_APP, jwtApp, mintToken } from './support/jwt.js';

const ORDERS = 'private-tenant.acme.orders';

/** `?noidb` hides IndexedDB before the SDK loads, as in browsers that have none; `?idbrefuses` has one whose open() fails. */
const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>stores</title></head><body>
<script>
const query = new URLSearchParams(location.search);
if (query.has('noidb')) Object.defineProperty(window, 'indexedDB', { value: undefined });
// As in private modes that have IndexedDB but refuse to open a database.
if (query.has('idbrefuses')) Object.defineProperty(window, 'indexedDB', { value: { open() { const request = { error: new DOMException('refused', 'InvalidStateError') }; setTimeout(() => request.onerror()); return request; } } });
</script>
<script src="/broadcasty.js"></script>
<script>
window.openClient = (url, appKey, token) => {
  window.client = new Broadcasty.BroadcastyClient({ url, appKey, getToken: () => token, offline: { store: Broadcasty.offlineStore('auto', 'e2e-queue') } });
  window.client.connect();
};
</script>
</body></html>`;

interface PageWindow {
  Broadcasty: typeof import('../client/sdk/index.js');
  client?: InstanceType<typeof import('../client/sdk/index.js').BroadcastyClient>;
  openClient(url: string, appKey: string, token: string): void;
}

const entry = (event: string): QueuedPublish => ({ id: `${event}-id-0123456789`, channel: ORDERS, event, data: JSON.stringify(event), queuedAt: 1 });

/** A port nothing listens on: the "server down" the first page publishes to. */
async function deadPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('SDK offline stores in Chromium', { skip: chromiumMissing }, () => {
  let server: RunningServer;
  let site: Site;
  let context: BrowserContext;
  let page: Page;

  before(async () => {
    server = await startTestServer({ apps: [jwtApp()], transport: 'node' });
    site = await serveSdkPage(PAGE);
    context = await launchChromium();
    page = context.pages()[0] ?? (await context.newPage());
  });

  after(async () => {
    await context?.close();
    site?.close();
    await server?.shutdown();
  });

  /** Adds a, b, c and removes b in a fresh page, reloads, and answers what load() returns then (and what localStorage holds). */
  async function survivesReload(query: string, name: string): Promise<{ loaded: string[]; inLocalStorage: string | null }> {
    await page.goto(`${site.origin}/?${query}`);
    await page.evaluate(
      async ({ name, entries }) => {
        const store = (window as unknown as PageWindow).Broadcasty.offlineStore('auto', name);
        for (const e of entries) await store.add(e);
        await store.remove(entries[1].id);
      },
      { name, entries: [entry('a'), entry('b'), entry('c')] },
    );
    await page.reload();
    return page.evaluate(async (name) => {
      const store = (window as unknown as PageWindow).Broadcasty.offlineStore('auto', name);
      return { loaded: (await store.load()).map((e) => e.event), inLocalStorage: localStorage.getItem(name) };
    }, name);
  }

  it('auto is IndexedDB: entries survive a reload in the order they were added', async () => {
    assert.deepEqual(await survivesReload('', 'idb-queue'), { loaded: ['a', 'c'], inLocalStorage: null });
  });

  it('auto without IndexedDB is localStorage (one JSON array under the name): entries survive a reload in order', async () => {
    const { loaded, inLocalStorage } = await survivesReload('noidb', 'ls-queue');
    assert.deepEqual(loaded, ['a', 'c']);
    assert.deepEqual((JSON.parse(inLocalStorage!) as QueuedPublish[]).map((e) => e.event), ['a', 'c']);
  });

  it('auto where IndexedDB refuses to open falls back to localStorage: entries survive a reload in order', async () => {
    const { loaded, inLocalStorage } = await survivesReload('idbrefuses', 'refused-queue');
    assert.deepEqual(loaded, ['a', 'c']);
    assert.deepEqual((JSON.parse(inLocalStorage!) as QueuedPublish[]).map((e) => e.event), ['a', 'c']);
  });

  it('a publish made while the server is unreachable waits in IndexedDB; after a reload the client sends it on connect, once', async () => {
    const subscriber = await RawClient.connect(server.port, JWT_APP.key);
    try {
      await subscriber.established();
      assert.equal((await subscribeRaw(subscriber, ORDERS, await mintToken({ sub: 'reader', roles: ['member'] }))).event, 'pusher_internal:subscription_succeeded');
      const token = await mintToken({ sub: 'writer', roles: ['member', 'publisher'] }, { expiresIn: 600 });
      const open = (url: string) => page.evaluate(({ url, key, token }) => (window as unknown as PageWindow).openClient(url, key, token), { url, key: JWT_APP.key, token });

      await page.goto(`${site.origin}/`);
      await open(`http://127.0.0.1:${await deadPort()}`);
      await page.evaluate(() => {
        void (window as unknown as PageWindow).client!.publish({ channel: 'private-tenant.acme.orders', event: 'while.down', payload: { n: 1 } }).catch(() => undefined);
      });
      await until(() => page.evaluate(() => (window as unknown as PageWindow).client!.stats().queuedPublishes === 1), 20_000, 'publish stored');

      await page.reload();
      await open(`http://127.0.0.1:${server.port}`);
      const frame = await subscriber.next((f) => f.event === 'while.down', 20_000);
      assert.deepEqual(JSON.parse(frame.data as string), { n: 1 });
      await until(() => page.evaluate(() => (window as unknown as PageWindow).client!.stats().queuedPublishes === 0), 20_000, 'queue empty');
      await page.evaluate(() => (window as unknown as PageWindow).client!.flushOffline());
      assert.equal((await broadcasty(server.port, 'POST', 'publish', { token, body: { channel: ORDERS, event: 'marker', data: 'm' } })).status, 200);
      await subscriber.next((f) => f.event === 'marker', 20_000);
      assert.equal(subscriber.frames.filter((f) => f.event === 'while.down').length, 0, 'delivered once');
    } finally {
      subscriber.close();
    }
  });
});
