// Regression tests for the attack run's per-connection memory findings (issue "Hardening"):
// every bound answers with the protocol's error a client can act on, never unbounded growth or
// an abrupt 1006.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import { StaticAppRegistry } from '../src/apps/registry.js';
import { loadConfig } from '../src/config/load.js';
import { startServer } from '../src/server.js';
import { RawClient, startTestServer, type Frame } from './support/in-process.js';

const isError = (f: Frame) => f.event === 'pusher:error';
const errorOf = (f: Frame) => f.data as { code: number | null; message: string };
const pong = (f: Frame) => f.event === 'pusher:pong';

async function withServer<T>(overrides: Record<string, unknown>, run: (port: number, server: Awaited<ReturnType<typeof startTestServer>>) => Promise<T>): Promise<T> {
  const server = await startTestServer(overrides);
  try {
    return await run(server.port, server);
  } finally {
    await server.shutdown();
  }
}

describe('F2: frames sent before connection_established', () => {
  /** The dev app, looked up slowly: a registry or Redis under load. */
  async function slowLookupServer() {
    const config = loadConfig({ env: {}, overrides: { host: '127.0.0.1', port: 0, logLevel: 'silent' } });
    const apps = new StaticAppRegistry(config.apps);
    const registry = { findById: (id: string) => apps.findById(id), findByKey: async (key: string) => (await delay(400), apps.findByKey(key)) };
    return startServer(config, { registry });
  }

  it('a flood while the app lookup is slow → pusher:error 4100 and Close 4100; a few early frames are still answered', async () => {
    const server = await slowLookupServer();
    try {
      const flooder = await RawClient.connect(server.port);
      for (let i = 0; i < 100; i++) flooder.send({ event: 'pusher:ping', data: { pad: 'x'.repeat(1000) } });
      assert.equal(errorOf(await flooder.next(isError)).code, 4100);
      assert.equal((await flooder.closed).code, 4100);

      const polite = await RawClient.connect(server.port);
      for (let i = 0; i < 3; i++) polite.send({ event: 'pusher:ping', data: {} });
      await polite.established();
      for (let i = 0; i < 3; i++) await polite.next(pong);
      polite.close();
    } finally {
      await server.shutdown();
    }
  });

  it('the size bound applies too: three 99 KiB frames pass maxPendingBytes (256 KiB) → 4100', async () => {
    const server = await slowLookupServer();
    try {
      const client = await RawClient.connect(server.port);
      for (let i = 0; i < 4; i++) client.send({ event: 'pusher:ping', data: { pad: 'x'.repeat(99 * 1024) } });
      assert.equal((await client.closed).code, 4100);
    } finally {
      await server.shutdown();
    }
  });
});

describe('F4: per-connection channel limit', () => {
  it('a subscription past maxChannelsPerConnection fails in-band and the socket stays usable', () =>
    withServer({ maxChannelsPerConnection: 3 }, async (port) => {
      const client = await RawClient.connect(port);
      await client.established();
      for (const channel of ['a', 'b', 'c']) {
        client.send({ event: 'pusher:subscribe', data: { channel } });
        await client.next((f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === channel);
      }
      client.send({ event: 'pusher:subscribe', data: { channel: 'd' } });
      const error = await client.next(isError);
      assert.equal(error.channel, 'd');
      assert.match(errorOf(error).message, /at most 3 subscriptions per connection/);
      const failed = await client.next((f) => f.event === 'pusher:subscription_error');
      assert.deepEqual(JSON.parse(failed.data as string), { type: 'LimitReached', error: errorOf(error).message, status: 4100 });
      client.send({ event: 'pusher:unsubscribe', data: { channel: 'a' } });
      client.send({ event: 'pusher:subscribe', data: { channel: 'd' } });
      await client.next((f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === 'd');
      client.send({ event: 'pusher:ping', data: {} });
      await client.next(pong);
      client.close();
    }));
});

describe('slow consumers are closed with 4100 at write time', () => {
  it('20 sockets that stop reading during a burst of publishes all see 4100, none 1006', () =>
    withServer({ maxBackpressureBytes: 256 * 1024 }, async (port, server) => {
      // Plain ws clients that do not parse what they drain: uWS gives a closed socket 4 s to
      // drain (its timeout after end()), and this test must not depend on the machine's speed.
      const clients = await Promise.all(Array.from({ length: 20 }, () => subscribedFirehose(port)));
      for (const client of clients) tcp(client).pause();
      const sockets = [...server.ctx.hub.connections.values()].map((c) => c.socket);
      // One synchronous burst, as a busy publisher produces between two 1 s sweeps: 64 KiB frames
      // until every socket is closed (the kernel's loopback buffers absorb some MB first).
      const frame = JSON.stringify({ event: 'big', channel: 'firehose', data: 'y'.repeat(64 * 1024) });
      for (let i = 0; i < 2000 && sockets.some((s) => !s.isClosed); i++) server.ctx.hub.deliver('app-id', 'firehose', frame);
      const codes = clients.map((ws) => new Promise<number>((resolve) => ws.once('close', resolve)));
      for (const client of clients) tcp(client).resume();
      assert.deepEqual(await Promise.all(codes), clients.map(() => 4100));
    }));
});

async function subscribedFirehose(port: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/app/app-key?protocol=7`);
  const frames = (text: string) => new Promise<void>((resolve) => ws.on('message', (raw) => raw.toString().includes(text) && resolve()));
  await frames('connection_established');
  ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'firehose' } }));
  await frames('subscription_succeeded');
  ws.removeAllListeners('message');
  return ws;
}

describe('memory guard', () => {
  it('over maxMemoryBytes new sockets get 4100, logged once however many are refused', async () => {
    const lines: { level: number; msg: string }[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) });
    const config = loadConfig({ env: {}, overrides: { host: '127.0.0.1', port: 0, maxMemoryBytes: 1024 * 1024 } });
    const server = await startServer(config, { log });
    try {
      for (let i = 0; i < 3; i++) {
        const client = await RawClient.connect(server.port);
        assert.equal(errorOf(await client.next(isError)).code, 4100);
        assert.equal((await client.closed).code, 4100);
      }
      const logged = lines.filter((l) => l.msg.includes('maxMemoryBytes'));
      assert.equal(logged.length, 1);
      assert.equal(logged[0].level, 50);
    } finally {
      await server.shutdown();
    }
  });
});

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function tcp(ws: WebSocket): { pause(): void; resume(): void } {
  return (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
}
