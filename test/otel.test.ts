// OpenTelemetry tracing (src/telemetry/): a real HTTP collector in the test receives the OTLP/HTTP
// JSON the exporter POSTs to /v1/traces. Publishes go through the `pusher` SDK (and signed fetches
// where a test needs its own headers) and a JWT client to a server with a subscriber connected;
// webhooks to a real receiver, push sends to a fake OneSignal. With tracing off, a child process's module resolution log shows no OpenTelemetry.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import PusherServer from 'pusher';
import { signRequest } from '../protocol/index.js';
import { ConfigError, loadConfig } from '../src/config/load.js';
import type { RunningServer } from '../src/server.js';
import { freePort } from './support/cli-process.js';
import { broadcasty, JWT_APP, jwtApp, mintToken } from './support/jwt.js';
import { FakeOneSignal } from './support/push-fakes/onesignal.js';
import { signed } from './support/push.js';
import { RawClient, startTestServer } from './support/in-process.js';
import { scratchDir } from './support/scratch.js';
import { WebhookReceiver } from './support/webhook-receiver.js';

const APP = { id: 'app-id', key: 'app-key', secret: 'app-secret' };
const REPO = new URL('..', import.meta.url).pathname;

interface OtlpValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: { key: string; value: OtlpValue }[];
  status?: { code?: number; message?: string };
}
interface OtlpBody {
  resourceSpans: { resource: { attributes: { key: string; value: OtlpValue }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
}

/** A span as the collector got it, its attributes (and its resource's) as plain values. */
interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  kind: number;
  attributes: Record<string, string | number | boolean>;
  resource: Record<string, string | number | boolean>;
  status: { code?: number; message?: string };
}

const plain = (v: OtlpValue): string | number | boolean => v.stringValue ?? v.boolValue ?? (v.intValue !== undefined ? Number(v.intValue) : v.doubleValue!);
const attributeMap = (list: { key: string; value: OtlpValue }[] = []) => Object.fromEntries(list.map((a) => [a.key, plain(a.value)]));

/** SpanKind in OTLP: 1 internal, 2 server, 3 client. */
const KIND = { internal: 1, server: 2, client: 3 };
const ERROR = 2;

class FakeCollector {
  readonly spans: ReceivedSpan[] = [];
  readonly paths: string[] = [];
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<FakeCollector> {
    let collector: FakeCollector | undefined;
    const server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        collector!.paths.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
        collector!.receive(JSON.parse(body) as OtlpBody);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    collector = new FakeCollector(server, (server.address() as { port: number }).port);
    return collector;
  }

  private receive(body: OtlpBody): void {
    for (const rs of body.resourceSpans) {
      const resource = attributeMap(rs.resource.attributes);
      for (const ss of rs.scopeSpans) {
        for (const s of ss.spans) {
          this.spans.push({ traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId || undefined, name: s.name, kind: s.kind, attributes: attributeMap(s.attributes), resource, status: s.status ?? {} });
        }
      }
    }
  }

  async span(what: string, predicate: (s: ReceivedSpan) => boolean): Promise<ReceivedSpan> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const found = this.spans.find(predicate);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no ${what} span arrived; got ${JSON.stringify(this.spans.map((s) => [s.name, s.attributes]))}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  close(): void {
    this.server.closeAllConnections();
    this.server.close();
  }
}

describe('tracing on', () => {
  let collector: FakeCollector;
  let receiver: WebhookReceiver;
  let onesignal: FakeOneSignal;
  let server: RunningServer;
  let sdk: PusherServer;
  let subscriber: RawClient;
  const scheduleDelay = process.env.OTEL_BSP_SCHEDULE_DELAY;

  before(async () => {
    collector = await FakeCollector.start();
    receiver = await WebhookReceiver.start([APP]);
    onesignal = await FakeOneSignal.start(randomUUID(), 'rest-api-key');
    // The SDK's own setting: batches go out every 100 ms instead of every 5 s.
    process.env.OTEL_BSP_SCHEDULE_DELAY = '100';
    server = await startTestServer({
      otel: { endpoint: `http://127.0.0.1:${collector.port}/v1/traces`, serviceName: 'broadcasty-test' },
      apps: [
        { ...APP, webhooks: [{ url: receiver.url('/hook?token=do-not-trace'), eventTypes: ['channel_occupied'] }] },
        jwtApp({ push: { onesignal: { appId: onesignal.appId, restApiKey: onesignal.restApiKey, baseUrl: onesignal.baseUrl } } }),
      ],
    });
    sdk = new PusherServer({ appId: APP.id, key: APP.key, secret: APP.secret, host: '127.0.0.1', port: String(server.port), useTLS: false });
    subscriber = await RawClient.connect(server.port, APP.key);
    await subscriber.established();
    subscriber.send({ event: 'pusher:subscribe', data: { channel: 'orders' } });
    await subscriber.next((f) => f.event === 'pusher_internal:subscription_succeeded');
  });

  after(async () => {
    subscriber.close();
    await server.shutdown();
    if (scheduleDelay === undefined) delete process.env.OTEL_BSP_SCHEDULE_DELAY;
    else process.env.OTEL_BSP_SCHEDULE_DELAY = scheduleDelay;
    collector.close();
    await receiver.close();
    await onesignal.close();
  });

  it('exports the publish → engine → delivery spans of an SDK trigger, linked, with their attributes', async () => {
    await sdk.trigger(['orders', 'empty'], 'order-placed', { id: 7 });
    await subscriber.next((f) => f.event === 'order-placed');
    const request = await collector.span('broadcasty.http.publish', (s) => s.name === 'broadcasty.http.publish' && s.attributes['broadcasty.event'] === 'order-placed');
    assert.equal(request.kind, KIND.server);
    assert.equal(request.parentSpanId, undefined);
    assert.equal(request.attributes['broadcasty.app_id'], APP.id);
    assert.equal(request.attributes['broadcasty.channel_count'], 2);
    assert.equal(request.attributes['broadcasty.bytes'], Buffer.byteLength('{"id":7}'));
    assert.equal(request.attributes['http.response.status_code'], 200);
    assert.deepEqual({ name: request.resource['service.name'], version: typeof request.resource['service.version'] }, { name: 'broadcasty-test', version: 'string' });
    assert.notEqual(request.resource['service.version'], 'unknown');

    const engine = await collector.span('engine publish on orders', (s) => s.name === 'broadcasty.engine.publish' && s.parentSpanId === request.spanId && s.attributes['broadcasty.channel'] === 'orders');
    assert.equal(engine.traceId, request.traceId);
    assert.equal(engine.attributes['broadcasty.history'], false);
    await collector.span('engine publish on empty', (s) => s.name === 'broadcasty.engine.publish' && s.parentSpanId === request.spanId && s.attributes['broadcasty.channel'] === 'empty');

    const deliver = await collector.span('broadcasty.deliver', (s) => s.name === 'broadcasty.deliver' && s.parentSpanId === engine.spanId);
    assert.equal(deliver.traceId, request.traceId);
    assert.deepEqual(deliver.attributes, { 'broadcasty.channel': 'orders', 'broadcasty.subscribers': 1 });
    assert.ok(collector.paths.every((p) => p === 'POST /v1/traces application/json'), collector.paths.join('\n'));
  });

  it('continues the publisher’s trace from its traceparent header', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parentId = '00f067aa0ba902b7';
    const path = `/apps/${APP.id}/events`;
    const body = JSON.stringify({ name: 'traced', channel: 'orders', data: '{}' });
    const response = await fetch(`http://127.0.0.1:${server.port}${path}?${signRequest({ method: 'POST', path, key: APP.key, secret: APP.secret, body })}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${parentId}-01`, tracestate: 'laravel=1' },
    });
    assert.equal(response.status, 200);
    const request = await collector.span('the traced publish', (s) => s.name === 'broadcasty.http.publish' && s.attributes['broadcasty.event'] === 'traced');
    assert.deepEqual({ traceId: request.traceId, parent: request.parentSpanId }, { traceId, parent: parentId });
    const engine = await collector.span('its engine publish', (s) => s.name === 'broadcasty.engine.publish' && s.parentSpanId === request.spanId);
    assert.equal(engine.traceId, traceId);
  });

  it('starts a new trace when the traceparent is malformed, and still publishes', async () => {
    const path = `/apps/${APP.id}/events`;
    const body = JSON.stringify({ name: 'untraceable', channel: 'orders', data: '{}' });
    const response = await fetch(`http://127.0.0.1:${server.port}${path}?${signRequest({ method: 'POST', path, key: APP.key, secret: APP.secret, body })}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' },
    });
    assert.equal(response.status, 200);
    await subscriber.next((f) => f.event === 'untraceable');
    const request = await collector.span('the publish', (s) => s.name === 'broadcasty.http.publish' && s.attributes['broadcasty.event'] === 'untraceable');
    assert.equal(request.parentSpanId, undefined);
    assert.match(request.traceId, /^[0-9a-f]{32}$/);
    assert.notEqual(request.traceId, '0'.repeat(32));
  });

  it('marks a refused publish ERROR with the message the publisher got', async () => {
    const path = `/apps/${APP.id}/events`;
    const body = JSON.stringify({ name: 'no-channel', data: '{}' });
    const response = await fetch(`http://127.0.0.1:${server.port}${path}?${signRequest({ method: 'POST', path, key: APP.key, secret: APP.secret, body })}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    assert.equal(response.status, 400);
    const message = await response.text();
    const request = await collector.span('the refused publish', (s) => s.name === 'broadcasty.http.publish' && s.attributes['http.response.status_code'] === 400);
    assert.deepEqual(request.status, { code: ERROR, message });
  });

  it('traces batch_events as one request span over every item’s engine publish', async () => {
    await sdk.triggerBatch([
      { channel: 'orders', name: 'first', data: 'a' },
      { channel: 'orders', name: 'second', data: 'bc' },
    ]);
    const request = await collector.span('the batch publish', (s) => s.name === 'broadcasty.http.publish' && s.attributes['broadcasty.event'] === 'first,second');
    assert.equal(request.attributes['broadcasty.channel_count'], 2);
    assert.equal(request.attributes['broadcasty.bytes'], 3);
    await collector.span('the batch engine publishes', () => collector.spans.filter((s) => s.name === 'broadcasty.engine.publish' && s.parentSpanId === request.spanId).length === 2);
  });

  it('exports a client span per webhook POST: the host only (a path may be a secret), status, attempt, events', async () => {
    const watcher = await RawClient.connect(server.port, APP.key);
    await watcher.established();
    watcher.send({ event: 'pusher:subscribe', data: { channel: 'hooked' } });
    await receiver.until('channel_occupied', () => receiver.delivered('/hook?token=do-not-trace').length > 0);
    const send = await collector.span('broadcasty.webhook.send', (s) => s.name === 'broadcasty.webhook.send');
    watcher.close();
    assert.equal(send.kind, KIND.client);
    assert.deepEqual(send.attributes, {
      'server.address': `127.0.0.1:${receiver.port}`,
      'broadcasty.app_id': APP.id,
      'broadcasty.attempt': 1,
      'broadcasty.events_count': 1,
      'http.response.status_code': 200,
    });
    assert.notEqual(send.status.code, ERROR);
  });

  it('traces a JWT client’s POST /broadcasty/publish the same way', async () => {
    const token = await mintToken({ sub: 'writer', roles: ['member', 'publisher'] });
    const reply = await broadcasty(server.port, 'POST', 'publish', { token, body: { channel: 'private-tenant.acme.orders', event: 'jwt-published', data: '{}' } });
    assert.equal(reply.status, 200, reply.text);
    const request = await collector.span('the JWT publish', (s) => s.name === 'broadcasty.http.publish' && s.attributes['broadcasty.event'] === 'jwt-published');
    assert.deepEqual([request.attributes['broadcasty.app_id'], request.attributes['broadcasty.channel_count']], [JWT_APP.id, 1]);
    await collector.span('its engine publish', (s) => s.name === 'broadcasty.engine.publish' && s.parentSpanId === request.spanId && s.attributes['broadcasty.channel'] === 'private-tenant.acme.orders');
  });

  it('exports a client span per push send: provider, outcome, attempt; ERROR with the reason when not sent', async () => {
    const [phone, gone] = [randomUUID(), randomUUID()];
    onesignal.subscribe(phone);
    for (const [token, user] of [[phone, 'dave'], [gone, 'erin']]) {
      assert.equal((await signed(server.port, JWT_APP, 'POST', 'push/devices', { provider: 'onesignal', token, user_id: user })).status, 201);
    }
    assert.equal((await signed(server.port, JWT_APP, 'POST', 'push', { users: ['dave'], notification: { title: 'Shipped' } })).status, 202);
    const sent = await collector.span('the sent push', (s) => s.name === 'broadcasty.push.send' && s.attributes['broadcasty.push.outcome'] === 'sent');
    assert.equal(sent.kind, KIND.client);
    assert.deepEqual(sent.attributes, { 'broadcasty.app_id': JWT_APP.id, 'broadcasty.push.provider': 'onesignal', 'broadcasty.attempt': 1, 'broadcasty.push.outcome': 'sent' });
    assert.notEqual(sent.status.code, ERROR);
    assert.equal(onesignal.deliveredTo(phone).length, 1);

    assert.equal((await signed(server.port, JWT_APP, 'POST', 'push', { users: ['erin'], notification: { title: 'Shipped' } })).status, 202);
    const dead = await collector.span('the push to a gone device', (s) => s.name === 'broadcasty.push.send' && s.attributes['broadcasty.push.outcome'] === 'dead');
    assert.equal(dead.status.code, ERROR);
    assert.ok((dead.status.message ?? '').length > 0);
  });
});

describe('tracing with sampleRatio 0', () => {
  it('records nothing, also for a publish whose traceparent says sampled (any browser can send one)', async () => {
    const collector = await FakeCollector.start();
    const scheduleDelay = process.env.OTEL_BSP_SCHEDULE_DELAY;
    process.env.OTEL_BSP_SCHEDULE_DELAY = '100';
    const server = await startTestServer({ otel: { endpoint: `http://127.0.0.1:${collector.port}/v1/traces`, sampleRatio: 0 }, apps: [APP] });
    try {
      const path = `/apps/${APP.id}/events`;
      const body = JSON.stringify({ name: 'sampled-upstream', channel: 'orders', data: '{}' });
      const response = await fetch(`http://127.0.0.1:${server.port}${path}?${signRequest({ method: 'POST', path, key: APP.key, secret: APP.secret, body })}`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
      });
      assert.equal(response.status, 200);
      // Ten export intervals: a recorded span would have arrived by then.
      await new Promise((resolve) => setTimeout(resolve, 1000));
    } finally {
      await server.shutdown();
      if (scheduleDelay === undefined) delete process.env.OTEL_BSP_SCHEDULE_DELAY;
      else process.env.OTEL_BSP_SCHEDULE_DELAY = scheduleDelay;
      collector.close();
    }
    assert.deepEqual(collector.spans, []);
  });
});

describe('tracing off', () => {
  /**
   * Starts the CLI in a child whose ESM loader hook (registered after tsx's, so it sees what tsx
   * resolved, and before the app's first import)
   * appends every resolved module URL to a file; answers those URLs once the server listens.
   */
  async function modulesLoaded(env: Record<string, string>): Promise<string[]> {
    const dir = scratchDir('otel-imports');
    const log = join(dir, 'resolved.txt');
    writeFileSync(log, '');
    writeFileSync(
      join(dir, 'hooks.mjs'),
      "import { appendFileSync } from 'node:fs';\n" +
        'export async function resolve(specifier, context, next) {\n' +
        '  const result = await next(specifier, context);\n' +
        "  appendFileSync(process.env.RESOLVED_LOG, result.url + '\\n');\n" +
        '  return result;\n' +
        '}\n',
    );
    writeFileSync(join(dir, 'register.mjs'), "import { register } from 'node:module';\nregister(new URL('./hooks.mjs', import.meta.url));\n");
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), '--import', join(dir, 'register.mjs'), `${REPO}src/cli.ts`, 'start', '--port', String(port), '--host', '127.0.0.1'], {
      cwd: REPO,
      env: { PATH: process.env.PATH, BROADCASTY_LOG_LEVEL: 'warn', BROADCASTY_APP_ID: 'a', BROADCASTY_APP_KEY: 'k', BROADCASTY_APP_SECRET: 's', RESOLVED_LOG: log, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise((resolve) => child.on('exit', resolve));
    try {
      const deadline = Date.now() + 20_000;
      while (!out.includes('Broadcasty listening on')) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`broadcasty did not start: ${out}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return readFileSync(log, 'utf8').split('\n').filter(Boolean);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  }

  const isOtel = (url: string) => url.includes('/@opentelemetry/') || url.includes('/src/telemetry/otel.');

  it('loads no OpenTelemetry module while otel.endpoint is unset (and the same check sees them when it is set)', async () => {
    const off = await modulesLoaded({});
    assert.ok(off.some((url) => url.endsWith('/src/server.ts')), 'the hook saw the server load');
    assert.deepEqual(off.filter(isOtel), []);

    const on = await modulesLoaded({ BROADCASTY_OTEL_ENDPOINT: 'http://127.0.0.1:9/v1/traces' });
    assert.ok(on.some((url) => url.includes('/@opentelemetry/sdk-trace-base/')), 'with an endpoint the SDK is loaded');
    assert.ok(on.some((url) => url.includes('/src/telemetry/otel.')));
  });
});

describe('otel settings', () => {
  it('refuses an endpoint that is not an http(s) URL, naming the setting', () => {
    for (const endpoint of ['collector:4318', 'ftp://collector/v1/traces']) {
      assert.throws(
        () => loadConfig({ env: { BROADCASTY_OTEL_ENDPOINT: endpoint } }),
        (error: unknown) => error instanceof ConfigError && /otel\.endpoint|BROADCASTY_OTEL_ENDPOINT/.test(error.message) && error.message.includes('http'),
      );
    }
  });

  it('refuses a sample ratio outside 0–1', () => {
    assert.throws(() => loadConfig({ env: {}, overrides: { otel: { endpoint: 'http://collector:4318/v1/traces', sampleRatio: 1.5 } } }), (error: unknown) => error instanceof ConfigError && /sampleRatio/.test(error.message));
  });

  it('takes the standard OTEL_ variables', () => {
    const config = loadConfig({ env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://collector.example/v1/traces', OTEL_SERVICE_NAME: 'ws-eu' } });
    assert.deepEqual(config.otel, { endpoint: 'https://collector.example/v1/traces', serviceName: 'ws-eu', sampleRatio: 1 });
  });
});
