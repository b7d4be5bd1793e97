// The resume plugin in Chromium (docs/PROTOCOL.md §13.3): a page loads pusher-js's web build,
// Echo's IIFE build and the plugin's browser file (dist/browser/broadcasty-resume.js, built here
// by scripts/build-client.mjs) as a site would, listens with Echo, and goes offline through
// DevTools network emulation for longer than the activity timeout while ticks are published.
// Back online, it has every tick, in order, once.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import type { RunningServer } from '../src/server.js';
import { chromiumMissing, launchChromium, serveSite, type Site } from './support/chromium.js';
import { sdk, sleep, until } from './support/cluster.js';
import { startTestServer } from './support/in-process.js';
import { historyApp, publishTicks, streamFaults } from './support/resume-stream.js';

const REPO = new URL('..', import.meta.url).pathname;
const require = createRequire(import.meta.url);
/** Seconds: the app's activity timeout, which the page's pusher-js adopts from the handshake. */
const ACTIVITY_TIMEOUT = 2;

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>resume</title></head><body>
<script src="/pusher.js"></script><script src="/echo.js"></script><script src="/broadcasty-resume.js"></script>
<script>
const q = new URLSearchParams(location.search);
window.ticks = [];
window.failures = [];
window.socketIds = [];
const pusher = BroadcastyResume.withResume(
  new Pusher(q.get('key'), { wsHost: '127.0.0.1', wsPort: Number(q.get('port')), forceTLS: false, enabledTransports: ['ws'], cluster: '', pongTimeout: 2000 }),
  { onResumeFailed: (channel, failure) => window.failures.push(failure) },
);
pusher.connection.bind('connected', () => window.socketIds.push(pusher.connection.socket_id));
window.echo = new Echo.default({ broadcaster: 'pusher', key: q.get('key'), client: pusher });
window.echo.channel(q.get('channel')).listen('.tick', (e) => window.ticks.push(e.i));
</script></body></html>`;

interface PageState {
  ticks: number[];
  failures: unknown[];
  socketIds: string[];
  echo: { connector: { pusher: { channel(name: string): { subscribed: boolean } | undefined } } };
}

let server: RunningServer;
let site: Site;
let context: BrowserContext;

const state = (page: Page) => page.evaluate(() => {
  const w = window as unknown as PageState;
  return { ticks: w.ticks, failures: w.failures, socketIds: w.socketIds };
});

describe('resume plugin in Chromium', { skip: chromiumMissing }, () => {
  before(async () => {
    execFileSync(process.execPath, [`${REPO}scripts/build-client.mjs`], { stdio: 'inherit' });
    server = await startTestServer({ apps: [historyApp({}, { activityTimeout: ACTIVITY_TIMEOUT, pongTimeout: 2 })] });
    site = await serveSite({
      '/': PAGE,
      '/pusher.js': readFileSync(require.resolve('pusher-js/dist/web/pusher.js'), 'utf8'),
      '/echo.js': readFileSync(require.resolve('laravel-echo/iife'), 'utf8'),
      '/broadcasty-resume.js': readFileSync(`${REPO}dist/browser/broadcasty-resume.js`, 'utf8'),
    });
    context = await launchChromium();
  });
  after(async () => {
    await context?.close();
    site?.close();
    await server?.shutdown();
  });

  it('Echo + plugin offline for longer than the activity timeout, ticks published meanwhile: no gap, no duplicate', async () => {
    const channel = `stream.browser.${Date.now()}`;
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${site.origin}/?${new URLSearchParams({ key: 'app-key', port: String(server.port), channel })}`);
    await page.waitForFunction((c) => (window as unknown as PageState).echo.connector.pusher.channel(c)?.subscribed === true, channel);

    const count = 400;
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    const network = (offline: boolean) => cdp.send('Network.emulateNetworkConditions', { offline, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    const publishing = publishTicks([sdk(server.port)], [channel], count, 50);
    await sleep(1000);
    await network(true);
    await sleep(ACTIVITY_TIMEOUT * 1000 * 2.5);
    await network(false);
    await publishing;

    await until(async () => (await state(page)).ticks.length >= count, 15_000, 'every tick in the page').catch(() => undefined);
    const seen = await state(page);
    assert.ok(seen.socketIds.length >= 2, `the page lost its socket while offline and connected again (socket ids: ${seen.socketIds.join(', ')})`);
    assert.deepEqual(streamFaults(seen.ticks, count), { received: count, missing: [], repeated: [], outOfOrderAt: [] });
    assert.deepEqual(seen.failures, []);
  });
});
