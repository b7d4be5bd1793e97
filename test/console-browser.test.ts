// The debug console (console/, served at /console) in Chromium against a real server: the token
// check, a pusher-js subscriber showing up in the channels table, a publish from the form reaching
// that subscriber and the live stream, the presence roster following joins and leaves, the
// history browser, and loopback getting in without a token. Screenshots go to a temp dir (logged)
// as artifacts; with BROADCASTY_UPDATE_SCREENSHOT=1 the last one also becomes
// docs/images/console.png for the README.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import type { RunningServer } from '../src/server.js';
import { buildConsoleFiles } from './support/console.js';
import { chromiumMissing, launchChromium } from './support/chromium.js';
import { APP, Client, sdk } from './support/cluster.js';
import { startTestServer } from './support/in-process.js';

const ROOT = join(import.meta.dirname, '..');
const TOKEN = 'console-test-admin-token-0123456789';
const HISTORY_CHANNEL = 'orders';
const WAIT = { timeout: 20_000 };

let server: RunningServer;
let context: BrowserContext;
let page: Page;
let artifacts: string;
const clients: Client[] = [];
const pageErrors: string[] = [];

const byTestId = (id: string, extra = '') => `[data-testid="${id}"]${extra}`;
const channelRow = (channel: string) => byTestId('channel-row', `[data-channel="${channel}"]`);

async function screenshot(name: string): Promise<string> {
  const path = join(artifacts, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Waits until the element's text is `text`. */
async function textIs(selector: string, text: string): Promise<void> {
  await page.waitForFunction(([s, t]) => document.querySelector(s!)?.textContent === t, [selector, text], WAIT);
}

async function textStartsWith(selector: string, start: string): Promise<void> {
  await page.waitForFunction(([s, t]) => document.querySelector(s!)?.textContent?.startsWith(t!) === true, [selector, start], WAIT);
}

/** The user ids the roster shows, once they are exactly `ids`. */
async function rosterIs(ids: string[]): Promise<void> {
  await page.waitForFunction(
    (expected) => JSON.stringify(Array.from(document.querySelectorAll<HTMLElement>('[data-testid="presence-member"]'), (li) => li.dataset.user).sort()) === JSON.stringify(expected),
    [...ids].sort(),
    WAIT,
  );
}

async function connect(user?: { id: string; info?: Record<string, unknown> }): Promise<Client> {
  const client = await Client.connect(server.port, user);
  clients.push(client);
  return client;
}

describe('the debug console in Chromium', { skip: chromiumMissing }, () => {
  before(async () => {
    await buildConsoleFiles();
    server = await startTestServer({ adminToken: TOKEN, apps: [{ ...APP, history: [{ channels: [HISTORY_CHANNEL] }] }] });
    context = await launchChromium();
    page = context.pages()[0] ?? (await context.newPage());
    await page.setViewportSize({ width: 1440, height: 1000 });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error' && !/401|Failed to load resource/.test(message.text())) pageErrors.push(message.text());
    });
    artifacts = mkdtempSync(join(tmpdir(), 'broadcasty-console-screens-'));
    console.log(`console screenshots: ${artifacts}`);
  });
  after(async () => {
    for (const client of clients) client.disconnect();
    await context?.close();
    await server?.shutdown();
  });

  it('a wrong token is refused and nothing else loads', async () => {
    await page.goto(`http://127.0.0.1:${server.port}/console`);
    await page.waitForSelector(byTestId('login-form'), WAIT);
    await page.fill(byTestId('token-input'), 'not-the-admin-token-0123456789');
    await page.click(byTestId('token-submit'));
    await textIs(byTestId('login-error'), 'Wrong token: the server refused it.');
    assert.equal(await page.locator(byTestId('stats-panel')).count(), 0);
    assert.equal(await page.locator(byTestId('app-picker')).count(), 0);
    await screenshot('1-wrong-token');
  });

  it('the admin token opens the app: actor, app picker, panels, a live stream', async () => {
    await page.fill(byTestId('token-input'), TOKEN);
    await page.click(byTestId('token-submit'));
    await textIs(byTestId('actor'), 'admin');
    assert.equal(await page.inputValue(byTestId('app-picker')), APP.id);
    await textIs(byTestId('stream-status'), 'live');
    await page.waitForSelector(byTestId('stats-panel'), WAIT);
  });

  it('a pusher-js client subscribes: the channel appears with 1 subscriber, the connection is counted', async () => {
    const client = await connect();
    await client.subscribe('news');
    await textIs(`${channelRow('news')} ${byTestId('channel-subscribers')}`, '1');
    await textIs(byTestId('connections-total'), '1');
  });

  it('publish from the form: the pusher-js client receives it and the stream shows it', async () => {
    const client = await connect();
    const subscription = await client.subscribe('news');
    const received = new Promise<unknown>((resolve) => subscription.bind('greeting', resolve));
    await page.fill(byTestId('publish-channel'), 'news');
    await page.fill(byTestId('publish-event'), 'greeting');
    await page.fill(byTestId('publish-data'), '{"hello": "from the console"}');
    await page.click(byTestId('publish-submit'));
    assert.deepEqual(await received, { hello: 'from the console' });
    await textIs(byTestId('publish-answer'), 'published {}');

    const row = byTestId('stream-row', '[data-kind="publish"][data-channel="news"][data-event="greeting"]');
    await page.waitForSelector(row, WAIT);
    await page.click(`${row} .event-head`);
    const payload = await page.textContent(`${row} ${byTestId('event-data')}`);
    assert.deepEqual(JSON.parse(payload!), { hello: 'from the console' });
  });

  it('data that is not JSON is refused in the page, before anything is sent', async () => {
    await page.fill(byTestId('publish-data'), '{not json');
    await page.click(byTestId('publish-submit'));
    await textStartsWith(byTestId('publish-answer'), 'data is not JSON');
  });

  it('presence: the roster follows members joining and leaving', async () => {
    const alice = await connect({ id: 'alice', info: { name: 'Alice' } });
    await alice.subscribe('presence-room');
    await page.click(channelRow('presence-room'), WAIT);
    await rosterIs(['alice']);
    const bob = await connect({ id: 'bob', info: { name: 'Bob' } });
    await bob.subscribe('presence-room');
    await rosterIs(['alice', 'bob']);
    alice.pusher.unsubscribe('presence-room');
    await rosterIs(['bob']);
    await page.waitForSelector(byTestId('stream-row', '[data-kind="member_removed"][data-channel="presence-room"]'), WAIT);
  });

  it('the history browser pages through a history channel', async () => {
    const client = await connect();
    await client.subscribe(HISTORY_CHANNEL);
    const publisher = sdk(server.port);
    for (let id = 1; id <= 5; id++) await publisher.trigger(HISTORY_CHANNEL, 'order.placed', { id, total: id * 12.5 });
    await page.click(channelRow(HISTORY_CHANNEL), WAIT);
    await page.waitForSelector(byTestId('history'), WAIT);
    await page.fill(byTestId('history-limit'), '2');
    await page.fill(byTestId('history-from'), '');
    await page.click(byTestId('history-load'));
    const offsets = () => page.$$eval('[data-testid="history-events"] tr td:first-child', (cells) => cells.map((c) => Number(c.textContent)));
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="history-events"] tr').length === 2, undefined, WAIT);
    const first = await offsets();
    await page.click(byTestId('history-next'));
    await page.waitForFunction((before) => document.querySelector('[data-testid="history-events"] tr td')?.textContent !== String(before), first[0], WAIT);
    const second = await offsets();
    assert.equal(second[0], first[1] + 1, 'next continues after the first page');
    await page.click(byTestId('history-previous'));
    await page.waitForFunction((start) => document.querySelector('[data-testid="history-events"] tr td')?.textContent === String(start), first[0], WAIT);
    await screenshot('3-history');
  });

  it('the stream pauses and resumes, and filters by channel through the tap', async () => {
    const publisher = sdk(server.port);
    const rows = (event: string) => page.locator(byTestId('stream-row', `[data-event="${event}"]`)).count();
    await page.click(byTestId('stream-pause'));
    await publisher.trigger('news', 'while-paused', {});
    await textIs(byTestId('stream-status'), 'paused · 1 held');
    assert.equal(await rows('while-paused'), 0);
    await page.click(byTestId('stream-pause'));
    await page.waitForSelector(byTestId('stream-row', '[data-event="while-paused"]'), WAIT);

    // The tap reopens with ?channel=news (the status says `connecting` before it asks): live again once it answered.
    const tapOpened = (filtered: boolean) => page.waitForRequest((r) => r.url().includes('/tap') && r.url().includes('channel=news') === filtered, WAIT);
    let reopened = tapOpened(true);
    await page.fill(byTestId('stream-channel'), 'news');
    await reopened;
    await textIs(byTestId('stream-status'), 'live');
    await publisher.trigger('orders', 'filtered-out', {});
    await publisher.trigger('news', 'filtered-in', {});
    await page.waitForSelector(byTestId('stream-row', '[data-event="filtered-in"]'), WAIT);
    assert.equal(await rows('filtered-out'), 0);
    reopened = tapOpened(false);
    await page.fill(byTestId('stream-channel'), '');
    await reopened;
    await textIs(byTestId('stream-status'), 'live');
  });

  it('without adminToken, loopback opens the console without the form, under pathPrefix and a nested consolePath', async () => {
    const open = await startTestServer({ pathPrefix: '/realtime', consolePath: '/debug/console' });
    const tab = await context.newPage();
    try {
      await tab.goto(`http://127.0.0.1:${open.port}/realtime/debug/console/`);
      await tab.waitForFunction((s) => document.querySelector(s)?.textContent === 'loopback', byTestId('actor'), WAIT);
      assert.equal(await tab.locator(byTestId('login-form')).count(), 0);
      await tab.waitForFunction((s) => document.querySelector(s)?.textContent === 'live', byTestId('stream-status'), WAIT);
    } finally {
      await tab.close();
      await open.shutdown();
    }
  });

  it('the page ran without script or CSP errors; a screenshot with traffic', async () => {
    const publisher = sdk(server.port);
    for (let i = 1; i <= 4; i++) await publisher.trigger(['news', 'presence-room'], 'tick', { i, at: new Date(0).toISOString() });
    await page.waitForSelector(byTestId('stream-row', '[data-event="tick"]'), WAIT);
    await page.click(channelRow('presence-room'), WAIT);
    await rosterIs(['bob']);
    await page.fill(byTestId('publish-data'), '{"message": "hello from the console"}');
    await page.click(byTestId('publish-submit'));
    await textIs(byTestId('publish-answer'), 'published {}');
    const path = await screenshot('2-console');
    if (process.env.BROADCASTY_UPDATE_SCREENSHOT === '1') copyFileSync(path, join(ROOT, 'docs/images/console.png'));
    assert.deepEqual(pageErrors, []);
  });
});
