// Prometheus metrics on their own port, /usage, and the HTTP API rate limit (429 + Retry-After).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import PusherServer from 'pusher';
import { signRequest } from '../protocol/index.js';
import type { RunningServer } from '../src/server.js';
import { RawClient, startTestServer } from './support/in-process.js';
import { justAfterSecondBoundary } from './support/clock.js';

let server: RunningServer;
let sdk: PusherServer;
let receiver: Server;
let hooks = 0;
before(async () => {
  receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      hooks += 1;
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const hookUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
  server = await startTestServer({
    metrics: true,
    metricsHost: '127.0.0.1',
    metricsPort: 0,
    apps: [{ id: 'app-id', key: 'app-key', secret: 'app-secret', webhooks: [{ url: hookUrl, eventTypes: ['channel_occupied'] }] }, { id: 'limited', key: 'limited-key', secret: 'limited-secret', httpRateLimit: 3 }],
  });
  sdk = new PusherServer({ appId: 'app-id', key: 'app-key', secret: 'app-secret', host: '127.0.0.1', port: String(server.port), useTLS: false });
});
after(async () => {
  await server.shutdown();
  receiver.close();
});

/** Parses Prometheus text exposition into `name{labels}` → value. */
async function scrape(): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const samples = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

const delta2 = (after: Map<string, number>, before: Map<string, number>, name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);

describe('metrics', () => {
  it('counters move when traffic flows', async () => {
    const before = await scrape();
    const client = await RawClient.connect(server.port);
    await client.established();
    client.send({ event: 'pusher:subscribe', data: { channel: 'metered', auth: '' } });
    await client.next((f) => f.event === 'pusher_internal:subscription_succeeded');
    await sdk.trigger('metered', 'tick', 'x');
    await client.next((f) => f.event === 'tick');
    const during = await scrape();
    const delta = (name: string) => (during.get(name) ?? 0) - (before.get(name) ?? 0);
    assert.equal(delta('broadcasty_connections{app_id="app-id"}'), 1);
    assert.equal(delta('broadcasty_connections_opened_total{app_id="app-id"}'), 1);
    assert.equal(delta('broadcasty_ws_messages_received_total{app_id="app-id"}'), 1);
    assert.equal(delta('broadcasty_publishes_total{app_id="app-id",source="http"}'), 1);
    assert.equal(delta('broadcasty_publish_latency_seconds_count{app_id="app-id"}'), 1);
    // connection_established + subscription_succeeded + the event
    assert.equal(delta('broadcasty_ws_messages_sent_total{app_id="app-id"}'), 3);
    client.close();
    await client.closed;
    await new Promise((resolve) => setTimeout(resolve, 50));
    const afterClose = await scrape();
    assert.equal((afterClose.get('broadcasty_connections{app_id="app-id"}') ?? 0) - (before.get('broadcasty_connections{app_id="app-id"}') ?? 0), 0);
    assert.ok((afterClose.get('broadcasty_connections_closed_total{app_id="app-id",code="1005"}') ?? 0) >= 1);
    assert.ok((afterClose.get('broadcasty_process_resident_memory_bytes') ?? 0) > 0);
    assert.equal(hooks, 1, 'channel_occupied webhook delivered');
    assert.equal(delta2(afterClose, before, 'broadcasty_webhook_deliveries_total{app_id="app-id",outcome="sent"}'), 1);
    assert.equal(afterClose.get('broadcasty_webhook_queue_depth'), 0);
  });

  it('/usage reports connections and memory', async () => {
    const res = await fetch(`http://127.0.0.1:${server.metricsPort}/usage`);
    const body = (await res.json()) as { connections: number; memory: { rss: number } };
    assert.equal(typeof body.connections, 'number');
    assert.ok(body.memory.rss > 0);
  });
});

describe('HTTP API rate limit', () => {
  it('answers 429 with Retry-After past the per-app limit, and other apps are unaffected', async () => {
    const limited = new PusherServer({ appId: 'limited', key: 'limited-key', secret: 'limited-secret', host: '127.0.0.1', port: String(server.port), useTLS: false });
    await justAfterSecondBoundary();
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => limited.trigger('c', 'e', 'x')));
    const rejected = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    assert.ok(rejected.length >= 3, `expected at least 3 of 6 refused, got ${rejected.length}`);
    const error = rejected[0].reason as { status: number; body: string };
    assert.equal(error.status, 429);
    assert.match(error.body, /at most 3 per second/);
    // Same window, seen raw: the header tells the client when the next window opens.
    const path = '/apps/limited/channels';
    const query = signRequest({ method: 'GET', path, key: 'limited-key', secret: 'limited-secret' });
    const raw = await fetch(`http://127.0.0.1:${server.port}${path}?${query}`);
    if (raw.status === 429) assert.equal(raw.headers.get('retry-after'), '1');
    else assert.ok(Date.now() % 1000 < 150, `a request in the same second was answered ${raw.status}`);
    assert.equal((await sdk.trigger('c', 'e', 'x')).status, 200);
  });
});
