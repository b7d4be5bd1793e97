// Stock pusher-js (its browser build) in Chromium on a page without WebSocket: it falls back to
// xhr_streaming, or uses xhr_polling when told to (docs/PROTOCOL.md §7.2), from a page on another
// origin than the server (CORS). It joins private and presence channels through the page's own
// auth endpoint, receives what the `pusher` SDK publishes and whispers with a WebSocket client.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import type { RunningServer } from '../src/server.js';
import { chromiumMissing, launchChromium, serveSite, type Site } from './support/chromium.js';
import { rawSubscriber, sdk } from './support/cluster.js';
import { startTestServer } from './support/in-process.js';

const require = createRequire(import.meta.url);

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>fallback</title></head><body>
<script>delete window.WebSocket;</script>
<script src="/pusher.js"></script>
<script>
const q = new URLSearchParams(location.search);
// pusher-js remembers the last working transport per origin; each page picks its own.
localStorage.clear();
window.seen = { transport: null, privateReady: false, presenceReady: false, members: [], events: [], whispers: [] };
const transports = q.get('transports');
const pusher = new Pusher(q.get('key'), {
  cluster: '', wsHost: '127.0.0.1', httpHost: '127.0.0.1', httpPort: Number(q.get('port')), forceTLS: false,
  authEndpoint: '/auth?user=' + q.get('user'),
  ...(transports === null ? {} : { enabledTransports: transports.split(',') }),
});
pusher.connection.bind('connected', () => (window.seen.transport = pusher.connection.connection.transport.name));
const privateChannel = pusher.subscribe(q.get('private'));
privateChannel.bind('pusher:subscription_succeeded', () => (window.seen.privateReady = true));
privateChannel.bind('posted', (data) => window.seen.events.push(data));
privateChannel.bind('client-whisper', (data) => window.seen.whispers.push(data));
const presence = pusher.subscribe(q.get('presence'));
presence.bind('pusher:subscription_succeeded', (members) => (window.seen.presenceReady = Object.keys(members.members).sort()));
window.whisper = (data) => privateChannel.trigger('client-whisper', data);
</script></body></html>`;

interface Seen {
  transport: string | null;
  privateReady: boolean;
  presenceReady: string[] | false;
  events: unknown[];
  whispers: unknown[];
}

let server: RunningServer;
let site: Site;
let context: BrowserContext;

/** The page's origin: its files and an auth endpoint that signs as Laravel's /broadcasting/auth does. */
function startSite(port: number): Promise<Site> {
  const signer = sdk(port);
  return serveSite({
    '/': PAGE,
    '/pusher.js': readFileSync(require.resolve('pusher-js/dist/web/pusher.js'), 'utf8'),
    '/auth': (req, res, url) => {
      let form = '';
      req.on('data', (chunk: Buffer) => (form += chunk.toString()));
      req.on('end', () => {
        const params = new URLSearchParams(form);
        const channel = params.get('channel_name')!;
        const presence = channel.startsWith('presence-') ? { user_id: url.searchParams.get('user')! } : undefined;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(signer.authorizeChannel(params.get('socket_id')!, channel, presence)));
      });
    },
  });
}

const seen = (page: Page) => page.evaluate(() => (window as unknown as { seen: Seen }).seen);

describe('stock pusher-js in Chromium without WebSocket', { skip: chromiumMissing }, () => {
  before(async () => {
    server = await startTestServer({ httpHeartbeatSeconds: 1, pollTimeoutSeconds: 2, httpSessionTimeoutSeconds: 2 });
    site = await startSite(server.port);
    context = await launchChromium();
  });
  after(async () => {
    await context?.close();
    site?.close();
    await server?.shutdown();
  });

  const cases = [
    { transport: 'xhr_streaming', transports: undefined, user: 'streamer' },
    { transport: 'xhr_polling', transports: 'xhr_polling', user: 'poller' },
  ];
  for (const { transport, transports, user } of cases) {
    it(`${transports === undefined ? 'falls back to' : 'told to use'} ${transport}: private and presence channels, SDK events, whispers with a WebSocket client`, async () => {
      const channels = { private: `private-room.${transport}`, presence: `presence-room.${transport}` };
      const peer = await rawSubscriber(server.port, [channels.private, channels.presence], `ws-${user}`);
      const page = await context.newPage();
      try {
        const query = new URLSearchParams({ key: 'app-key', port: String(server.port), user, ...channels, ...(transports === undefined ? {} : { transports }) });
        await page.goto(`${site.origin}/?${query}`);
        await page.waitForFunction(() => {
          const s = (window as unknown as { seen: Seen }).seen;
          return s.privateReady && s.presenceReady !== false;
        }, undefined, { timeout: 15_000 });
        const ready = await seen(page);
        assert.equal(ready.transport, transport);
        assert.deepEqual(ready.presenceReady, [user, `ws-${user}`].sort());
        const joined = await peer.next((f) => f.event === 'pusher_internal:member_added');
        assert.equal((JSON.parse(joined.data as string) as { user_id: string }).user_id, user);

        await sdk(server.port).trigger(channels.private, 'posted', { from: 'sdk' });
        await page.waitForFunction(() => (window as unknown as { seen: Seen }).seen.events.length === 1, undefined, { timeout: 10_000 });
        assert.deepEqual((await seen(page)).events, [{ from: 'sdk' }]);

        await page.evaluate(() => (window as unknown as { whisper(data: unknown): void }).whisper({ from: 'page' }));
        const whisper = await peer.next((f) => f.event === 'client-whisper', 10_000);
        assert.deepEqual(JSON.parse(whisper.data as string), { from: 'page' });
        peer.send({ event: 'client-whisper', channel: channels.private, data: { from: 'ws' } });
        await page.waitForFunction(() => (window as unknown as { seen: Seen }).seen.whispers.length === 1, undefined, { timeout: 10_000 });
        assert.deepEqual((await seen(page)).whispers, [{ from: 'ws' }]);
      } finally {
        await page.close();
        peer.close();
      }
    });
  }
});
