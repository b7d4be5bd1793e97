// Browser end-to-end (docs/PROTOCOL.md §10 items 49, 116, 120–123 in headless Chromium): the stand-in
// Laravel app serves a page that loads laravel-echo's IIFE build and pusher-js's web build (with
// encryption) from node_modules, as a Laravel/Vite front end would, with same-origin
// /broadcasting/auth. Each case drives the page through playwright-core and screenshots its log
// into ctx.outDir. Ids repeat those in laravel.ts; titles start with "browser:".
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { Skip, type Case, type CaseContext, type Target } from '../types.js';
import { assert, assertEqual } from '../lib/kit.js';
import { LaravelApp, type Broadcaster } from '../lib/laravel-app.js';

const CHROMIUM = '/usr/bin/chromium';
const require = createRequire(import.meta.url);

// The page keeps every callback invocation in `received` and mirrors it into a visible log.
const PAGE = `<!doctype html><html><head><meta charset="utf-8"><meta name="csrf-token" content="csrf-token-123">
<title>Broadcasty browser check</title><style>body{font:12px monospace;margin:8px}h3{margin:0 0 6px}pre{white-space:pre-wrap;margin:0}</style></head>
<body><h3 id="state">loading</h3><pre id="log"></pre>
<script src="/pusher.js"></script><script src="/echo.js"></script>
<script>
const q = new URLSearchParams(location.search);
window.received = [];
window.log = (tag, data) => {
  window.received.push({ tag, data });
  document.getElementById('log').textContent += new Date().toISOString().slice(11, 23) + ' ' + tag + ' ' + JSON.stringify(data) + '\\n';
};
const broadcaster = q.get('broadcaster');
window.echo = new Echo.default({
  broadcaster, key: q.get('key'), ...(broadcaster === 'pusher' ? { cluster: 'mt1' } : {}),
  wsHost: q.get('host'), wsPort: Number(q.get('port')), wssPort: Number(q.get('port')), wsPath: q.get('path'),
  forceTLS: q.get('tls') === '1', enabledTransports: ['ws', 'wss'], bearerToken: q.get('token'),
});
const conn = window.echo.connector.pusher.connection;
conn.bind('state_change', (s) => { document.getElementById('state').textContent = s.current; log('state', s.current); });
conn.bind('connected', () => log('socket_id', window.echo.socketId()));
</script></body></html>`;

interface PageWindow {
  echo: any;
  received: { tag: string; data: unknown }[];
  log(tag: string, data: unknown): void;
}

interface Browser {
  app: LaravelApp;
  context: BrowserContext;
  /** Opens the page as the user holding `token`, connected to `port` (default: the server). */
  open(token: string, opts?: { broadcaster?: Broadcaster; port?: number }): Promise<Page>;
  requests: string[];
}

async function browser(ctx: CaseContext, id: number): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Skip('chromium not installed (apt-get install chromium)');
  const app = await LaravelApp.start(ctx);
  app.files.set('/', { type: 'text/html; charset=utf-8', body: PAGE });
  app.files.set('/echo.js', { type: 'text/javascript', body: readFileSync(require.resolve('laravel-echo/iife')) });
  app.files.set('/pusher.js', { type: 'text/javascript', body: readFileSync(require.resolve('pusher-js/dist/web/pusher-with-encryption.js')) });
  const dir = mkdtempSync(join(tmpdir(), 'broadcasty-chromium-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    ignoreHTTPSErrors: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const requests: string[] = [];
  context.on('request', (r) => requests.push(r.url()));
  ctx.cleanup(async () => {
    mkdirSync(ctx.outDir, { recursive: true });
    for (const [i, page] of context.pages().entries()) await page.screenshot({ path: join(ctx.outDir, `browser-${id}-tab${i + 1}.png`), fullPage: true }).catch(() => undefined);
    await context.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const t = ctx.target;
  return {
    app,
    context,
    requests,
    async open(token, opts = {}) {
      const q = new URLSearchParams({ broadcaster: opts.broadcaster ?? 'pusher', key: t.key, host: t.host, port: String(opts.port ?? t.port), path: t.pathPrefix, tls: t.tls ? '1' : '0', token });
      // A persistent context starts with one blank tab: use it first, so screenshots are all real pages.
      const blank = context.pages().find((p) => p.url() === 'about:blank');
      const page = blank ?? (await context.newPage());
      await page.goto(`${app.url}/?${q}`);
      await waitTag(page, 'socket_id');
      return page;
    },
  };
}

/** Runs `fn` in the page with the page's globals. */
function inPage<A, R>(page: Page, fn: (w: PageWindow, arg: A) => R, arg: A): Promise<R> {
  return page.evaluate(([src, a]) => new Function('w', 'a', `return (${src})(w, a)`)(window, a), [fn.toString(), arg] as const) as Promise<R>;
}

/** The data of the `n`-th (1-based) callback logged under `tag`, waiting up to `ms`. */
async function waitTag(page: Page, tag: string, ms = 5000, n = 1): Promise<unknown> {
  try {
    await page.waitForFunction(([t, k]) => (window as unknown as PageWindow).received.filter((r) => r.tag === t).length >= k, [tag, n] as const, { timeout: ms });
  } catch {
    throw new Error(`browser: "${tag}" #${n} not logged within ${ms} ms; page log: ${JSON.stringify(await tags(page))}`);
  }
  return (await inPage(page, (w, t) => w.received.filter((r) => r.tag === t).map((r) => r.data), tag))[n - 1];
}

const tags = (page: Page) => inPage(page, (w) => w.received.map((r) => `${r.tag} ${JSON.stringify(r.data)}`), null);

const num = () => String(Math.floor(Math.random() * 1e9));

/** A TCP relay whose live connections can be cut, to drop the browser's socket like a network failure would. */
async function relay(ctx: CaseContext, target: Target): Promise<{ port: number; cut(): void }> {
  const live = new Set<Socket>();
  const server = createServer((down) => {
    const up = new Socket().connect(target.port, target.host);
    for (const s of [down, up]) {
      live.add(s);
      s.on('error', () => undefined).on('close', () => live.delete(s));
    }
    down.pipe(up).pipe(down);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  ctx.cleanup(() => {
    for (const s of live) s.destroy();
    server.close();
  });
  return { port: (server.address() as { port: number }).port, cut: () => live.forEach((s) => s.resetAndDestroy()) };
}

function browserCase(id: number, title: string, run: (b: Browser, ctx: CaseContext) => Promise<void>): Case {
  return { id, title: `browser: ${title}`, timeoutMs: 45000, run: async (ctx) => run(await browser(ctx, id), ctx) };
}

export const cases: Case[] = [
  browserCase(123, 'Echo broadcaster "reverb" (forceTLS false, ws/wss) connects over ws and receives; nothing goes to pusher.com', async (b) => {
    const page = await b.open('token-1', { broadcaster: 'reverb' });
    const ch = `browser.${num()}`;
    await inPage(page, (w, c) => w.echo.channel(c).subscribed(() => w.log('subscribed', c)).listen('.hello', (e: unknown) => w.log('hello', e)), ch);
    await waitTag(page, 'subscribed');
    await b.app.broadcast([ch], 'hello', { from: 'php', text: 'Grüße/✓' });
    assertEqual(await waitTag(page, 'hello'), { from: 'php', text: 'Grüße/✓' }, 'event in the page');
    const transport = await inPage(page, (w) => w.echo.connector.pusher.connection.connection.transport.name as string, null);
    assertEqual(transport, 'ws', 'pusher-js transport');
    assertEqual(b.requests.filter((u) => /pusher(app)?\.com/.test(u)), [], 'requests to Pusher-hosted endpoints');
  }),
  browserCase(116, 'private listen("OrderShipped") authorised by same-origin /broadcasting/auth', async (b) => {
    const page = await b.open('token-1');
    const id = num();
    await inPage(page, (w, i) => w.echo.private(`orders.${i}`).subscribed(() => w.log('subscribed', i)).listen('OrderShipped', (e: unknown) => w.log('order', e)), id);
    await waitTag(page, 'subscribed');
    const auth = b.app.authLog.find((r) => r.request.channel_name === `private-orders.${id}`)!;
    assertEqual(auth.headers['x-csrf-token'], 'csrf-token-123', 'X-CSRF-TOKEN from <meta name="csrf-token">');
    assertEqual(auth.headers.authorization, 'Bearer token-1', 'Authorization from bearerToken');
    const payload = { order: { id: Number(id), url: 'https://shop.test/o/1', note: 'café' } };
    await b.app.broadcast([`private-orders.${id}`], 'App\\Events\\OrderShipped', payload);
    assertEqual(await waitTag(page, 'order'), payload, 'OrderShipped in the page');
  }),
  browserCase(120, 'presence here/joining/leaving across two tabs', async (b) => {
    const room = `chat.${num()}`;
    const join = (w: PageWindow, r: string) => w.echo.join(r).here((m: unknown) => w.log('here', m)).joining((m: unknown) => w.log('joining', m)).leaving((m: unknown) => w.log('leaving', m));
    const taylor = await b.open('token-1');
    await inPage(taylor, join, room);
    assertEqual(await waitTag(taylor, 'here'), [{ id: 1, name: 'Taylor' }], 'here() in the first tab');
    const abigail = await b.open('token-2');
    await inPage(abigail, join, room);
    const both = (await waitTag(abigail, 'here')) as { id: number }[];
    assertEqual([...both].sort((x, y) => x.id - y.id), [{ id: 1, name: 'Taylor' }, { id: 2, name: 'Abigail' }], 'here() in the second tab');
    assertEqual(await waitTag(taylor, 'joining'), { id: 2, name: 'Abigail' }, 'joining() in the first tab');
    await abigail.close();
    assertEqual(await waitTag(taylor, 'leaving'), { id: 2, name: 'Abigail' }, 'leaving() after the second tab closed');
  }),
  browserCase(121, 'whisper("typing") reaches listenForWhisper in another tab, not the sender', async (b) => {
    const id = num();
    const listen = (w: PageWindow, i: string) => w.echo.private(`orders.${i}`).subscribed(() => w.log('subscribed', i)).listenForWhisper('typing', (e: unknown) => w.log('typing', e));
    const [a, c] = [await b.open('token-1'), await b.open('token-2')];
    await inPage(a, listen, id);
    await inPage(c, listen, id);
    await Promise.all([waitTag(a, 'subscribed'), waitTag(c, 'subscribed')]);
    await inPage(a, (w, i) => w.echo.private(`orders.${i}`).whisper('typing', { name: 'Taylor' }), id);
    assertEqual(await waitTag(c, 'typing'), { name: 'Taylor' }, 'whisper in the other tab');
    await new Promise((r) => setTimeout(r, 500));
    assert(!(await tags(a)).some((l) => l.startsWith('typing')), 'the sender tab received its own whisper');
  }),
  browserCase(122, 'encryptedPrivate decrypts a PHP-encrypted event with the pusher-js web encryption build', async (b) => {
    const page = await b.open('token-1');
    const id = num();
    await inPage(page, (w, i) => w.echo.encryptedPrivate(`vault.${i}`).subscribed(() => w.log('subscribed', i)).listen('SecretSaved', (e: unknown) => w.log('secret', e)), id);
    await waitTag(page, 'subscribed');
    await b.app.broadcast([`private-encrypted-vault.${id}`], 'App\\Events\\SecretSaved', { secret: 'tôp/secret' });
    assertEqual(await waitTag(page, 'secret'), { secret: 'tôp/secret' }, 'decrypted payload in the page');
  }),
  browserCase(49, 'after a network drop pusher-js reconnects (new socket_id), re-authorises, re-subscribes and receives', async (b, ctx) => {
    // The server cannot be made to close our socket black-box (4200 needs its pid; terminate_connections
    // gives 4009, which pusher-js does not retry), so the network is cut instead: a relay between the
    // page and the server resets both TCP legs, and pusher-js must recover on its own.
    const net = await relay(ctx, ctx.target);
    const page = await b.open('token-1', { port: net.port });
    const id = num();
    await inPage(page, (w, i) => w.echo.private(`orders.${i}`).subscribed(() => w.log('subscribed', i)).listen('OrderShipped', (e: unknown) => w.log('order', e)), id);
    await waitTag(page, 'subscribed');
    const first = (await waitTag(page, 'socket_id')) as string;
    net.cut();
    const second = (await waitTag(page, 'socket_id', 15000, 2)) as string;
    assert(second !== first && /^\d+\.\d+$/.test(second), `a new socket_id after reconnecting (was ${first}, now ${second})`);
    await waitTag(page, 'subscribed', 10000, 2);
    const auths = b.app.authLog.filter((r) => r.request.channel_name === `private-orders.${id}`).map((r) => r.request.socket_id);
    assertEqual(auths, [first, second], 'auth requests per socket_id');
    await b.app.broadcast([`private-orders.${id}`], 'App\\Events\\OrderShipped', { after: 'reconnect' });
    assertEqual(await waitTag(page, 'order'), { after: 'reconnect' }, 'event after reconnecting');
  }),
];
