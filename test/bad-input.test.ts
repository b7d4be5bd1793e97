// Malformed frames and requests get the protocol's error, never a crash, a 500 or a silent drop;
// slow consumers are closed with 4100 instead of losing messages silently.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import PusherServer from 'pusher';
import { signRequest } from '../protocol/index.js';
import type { RunningServer } from '../src/server.js';
import { RawClient, startTestServer } from './support/in-process.js';

let server: RunningServer;
before(async () => {
  server = await startTestServer({ maxBackpressureBytes: 256 * 1024, maxMessageBytes: 16 * 1024 });
});
after(() => server.shutdown());

const isError = (f: { event: string }) => f.event === 'pusher:error';

describe('malformed WebSocket frames', () => {
  const frames: [string, string][] = [
    ['subscribe with data null', '{"event":"pusher:subscribe","data":null}'],
    ['subscribe with data a number', '{"event":"pusher:subscribe","data":5}'],
    ['subscribe with data an array', '{"event":"pusher:subscribe","data":[]}'],
    ['subscribe with data a string that is not JSON', '{"event":"pusher:subscribe","data":"nope"}'],
    ['subscribe with channel null', '{"event":"pusher:subscribe","data":{"channel":null}}'],
    ['subscribe with channel an object', '{"event":"pusher:subscribe","data":{"channel":{}}}'],
    ['subscribe without data', '{"event":"pusher:subscribe"}'],
    ['unsubscribe with data null', '{"event":"pusher:unsubscribe","data":null}'],
    ['signin with data null', '{"event":"pusher:signin","data":null}'],
    ['invalid JSON', '{"event":'],
    ['a JSON array', '[1,2]'],
    ['a JSON null', 'null'],
    ['an object without event', '{"data":{}}'],
    ['an event that is a number', '{"event":42}'],
    ['an unknown pusher: event', '{"event":"pusher:nope","data":{}}'],
    ['a client event without channel', '{"event":"client-x","data":{}}'],
    ['private subscribe with auth a number', '{"event":"pusher:subscribe","data":{"channel":"private-x","auth":42}}'],
    ['presence subscribe with channel_data an object', '{"event":"pusher:subscribe","data":{"channel":"presence-x","auth":"a:b","channel_data":{}}}'],
  ];
  for (const [name, frame] of frames) {
    it(`${name} → in-band pusher:error, socket stays open and still answers ping`, async () => {
      const client = await RawClient.connect(server.port);
      await client.established();
      client.send(frame);
      const error = await client.next(isError);
      assert.equal(typeof (error.data as { message: string }).message, 'string');
      client.send({ event: 'pusher:ping', data: {} });
      assert.deepEqual(await client.next((f) => f.event === 'pusher:pong'), { event: 'pusher:pong', data: '{}' });
      client.close();
    });
  }

  it('a frame over the size cap gets an in-band error and the socket stays open', async () => {
    const client = await RawClient.connect(server.port);
    await client.established();
    client.send({ event: 'client-x', channel: 'private-x', data: 'x'.repeat(20 * 1024) });
    const error = await client.next(isError);
    assert.match((error.data as { message: string }).message, /too large/);
    client.send({ event: 'pusher:ping', data: {} });
    await client.next((f) => f.event === 'pusher:pong');
    client.close();
  });
});

describe('malformed HTTP requests', () => {
  const base = () => `http://127.0.0.1:${server.port}`;
  const post = (path: string, body: string) =>
    fetch(`${base()}${path}?${signRequest({ method: 'POST', path, key: 'app-key', secret: 'app-secret', body })}`, { method: 'POST', body });

  const bodies: [string, string, number][] = [
    ['garbage', 'not json', 400],
    ['a JSON array', '[]', 400],
    ['data missing', '{"name":"e","channel":"c"}', 400],
    ['name a number', '{"name":1,"data":"x","channel":"c"}', 400],
    ['channels not strings', '{"name":"e","data":"x","channels":[1]}', 400],
    ['empty channel list', '{"name":"e","data":"x","channels":[]}', 400],
    ['invalid channel name', '{"name":"e","data":"x","channel":"bad name"}', 400],
    ['socket_id malformed', '{"name":"e","data":"x","channel":"c","socket_id":"abc"}', 400],
    ['encrypted mixed with others', '{"name":"e","data":"x","channels":["private-encrypted-a","b"]}', 400],
    ['reserved event name', '{"name":"pusher_internal:x","data":"x","channel":"c"}', 400],
  ];
  for (const [name, body, status] of bodies) {
    it(`POST /events with ${name} → ${status} with a plain-text reason`, async () => {
      const res = await post('/apps/app-id/events', body);
      assert.equal(res.status, status);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      assert.ok((await res.text()).length > 0);
    });
  }

  it('batch with a bad item → 400 and nothing is delivered', async () => {
    const client = await RawClient.connect(server.port);
    await client.established();
    client.send({ event: 'pusher:subscribe', data: { channel: 'batch-ch', auth: '' } });
    await client.next((f) => f.event === 'pusher_internal:subscription_succeeded');
    const res = await post('/apps/app-id/batch_events', JSON.stringify({ batch: [{ name: 'ok', data: 'x', channel: 'batch-ch' }, { name: 'bad', channel: 'batch-ch' }] }));
    assert.equal(res.status, 400);
    await assert.rejects(client.next((f) => f.event === 'ok', 300));
    client.close();
  });

  it('a malformed query string and a bad percent-escape in the path answer 4xx, not 500', async () => {
    assert.equal((await fetch(`${base()}/apps/app-id/channels?%%%=&&=`)).status, 401);
    const path = '/apps/app-id/channels/%E0%A4%A';
    const signed = signRequest({ method: 'GET', path, key: 'app-key', secret: 'app-secret' });
    const res = await fetch(`${base()}${path}?${signed}`);
    assert.equal(res.status, 400);
    assert.match(await res.text(), /percent-encoding/);
  });

  it('keeps HTTP connections alive (no Connection: close)', async () => {
    const res = await fetch(`${base()}/apps/app-id/channels`);
    assert.notEqual(res.headers.get('connection'), 'close');
  });
});

describe('slow consumers', () => {
  it('a client that stops reading is closed with 4100 once it buffers past the limit', async () => {
    const client = await RawClient.connect(server.port);
    await client.established();
    client.send({ event: 'pusher:subscribe', data: { channel: 'firehose', auth: '' } });
    await client.next((f) => f.event === 'pusher_internal:subscription_succeeded');
    // Stop reading at the TCP level: the server's send buffer fills.
    (client.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const sdk = new PusherServer({ appId: 'app-id', key: 'app-key', secret: 'app-secret', host: '127.0.0.1', port: String(server.port), useTLS: false });
    // Publish until the server holds more than the limit for this socket (the kernel's loopback
    // buffers absorb several MB first), then stop: the hub's check or the next liveness sweep
    // closes it. Resume at once: uWS gives a closed socket 4 s to drain before it cuts it (1006).
    const batch = Array.from({ length: 10 }, () => ({ channel: 'firehose', name: 'big', data: 'y'.repeat(9000) }));
    const socket = [...server.ctx.hub.connections.values()].find((c) => c.subscriptions.has('firehose'))!.socket;
    for (let i = 0; i < 2000 && !socket.isClosed && socket.bufferedBytes() <= 256 * 1024; i++) await sdk.triggerBatch(batch);
    for (let i = 0; i < 30 && !socket.isClosed; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    (client.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const closed = await client.closed;
    assert.equal(closed.code, 4100);
  });
});
