// The HTTP/WebSocket edge on both transports, with raw bytes from node:net: what a smuggling
// attempt, an HTTP/1.0 client, a non-conforming WebSocket client or a plain browser GET gets back.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../src/server.js';
import { loadNativeUws } from '../src/transport/load-uws.js';
import { startTestServer } from './support/in-process.js';

const HANDSHAKE = (path: string) =>
  `GET ${path}?protocol=7&client=js&version=8.4.0 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;

/**
 * Writes `parts` (one write each, after the server answered the previous one when `stepwise`)
 * and returns every byte the server sent until it closed or `quietMs` passed without data.
 */
async function exchange(port: number, parts: (string | Buffer)[], quietMs = 1000): Promise<Buffer> {
  const socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  socket.on('data', (chunk) => {
    chunks.push(chunk);
    wake?.();
  });
  socket.on('close', () => {
    ended = true;
    wake?.();
  });
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  const waitQuiet = async () => {
    for (;;) {
      if (ended) return;
      const got = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), quietMs);
        wake = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
      if (!got) return;
    }
  };
  for (const part of parts) {
    if (!ended) socket.write(part);
    await waitQuiet();
  }
  socket.destroy();
  return Buffer.concat(chunks);
}

/** Client frame: masked unless told otherwise. */
function clientFrame(opcode: number, payload: Buffer, masked = true): Buffer {
  const mask = Buffer.from([1, 2, 3, 4]);
  const header = Buffer.from([0x80 | opcode, (masked ? 0x80 : 0) | payload.length]);
  if (!masked) return Buffer.concat([header, payload]);
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([header, mask, body]);
}

/** The server frames after the 101 response: [opcode, payload][]. */
function serverFrames(bytes: Buffer): [number, Buffer][] {
  const start = bytes.indexOf('\r\n\r\n');
  assert.ok(bytes.subarray(0, start).toString().startsWith('HTTP/1.1 101'), `no upgrade: ${bytes.toString().slice(0, 80)}`);
  const frames: [number, Buffer][] = [];
  let at = start + 4;
  while (at + 2 <= bytes.length) {
    let length = bytes[at + 1]! & 0x7f;
    let offset = at + 2;
    if (length === 126) {
      length = bytes.readUInt16BE(offset);
      offset += 2;
    }
    frames.push([bytes[at]! & 0x0f, bytes.subarray(offset, offset + length)]);
    at = offset + length;
  }
  return frames;
}

function closeCode(bytes: Buffer): number | undefined {
  const close = serverFrames(bytes).find(([opcode]) => opcode === 8);
  return close === undefined ? undefined : close[1].readUInt16BE(0);
}

const statusLines = (bytes: Buffer) => bytes.toString('latin1').match(/^HTTP\/1\.[01] \d{3}/gm) ?? [];

const native = loadNativeUws();
const transports = ['node', ...('uws' in native ? ['uws'] : [])];

for (const transport of transports) {
  describe(`transport ${transport}: the edge`, () => {
    let server: RunningServer;
    before(async () => {
      server = await startTestServer({ transport, pathPrefix: '/pfx' });
    });
    after(() => server.shutdown());

    test('two conflicting Content-Length headers: nothing after them is served (ws: 400, uWS: connection dropped)', async () => {
      const smuggled = 'GET /up HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
      const bytes = await exchange(server.port, [
        `POST /apps/app-id/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`,
      ]);
      assert.deepEqual(statusLines(bytes), transport === 'node' ? ['HTTP/1.1 400'] : []);
      assert.ok(!bytes.toString().includes('health'), bytes.toString());
    });

    // uWS v20.30's C++ parser never hands an HTTP/1.0 request to JS: no answer, and its 10 s idle
    // timeout closes the connection. Nothing is served, but HTTP/1.0 health checks (HAProxy's
    // default httpchk) fail against it; the ws fallback answers them.
    test('an HTTP/1.0 request: ws answers it, uWS serves nothing', async () => {
      const bytes = await exchange(server.port, ['GET /up HTTP/1.0\r\n\r\n']);
      if (transport === 'uws') return assert.equal(bytes.length, 0);
      assert.match(bytes.toString(), /^HTTP\/1\.[01] 200/);
      assert.ok(bytes.toString().includes('{"health":"OK"}'), bytes.toString());
    });

    test('a second server on the same port fails to start with a clear message', async () => {
      await assert.rejects(startTestServer({ transport, port: server.port }), /cannot listen on 127\.0\.0\.1:\d+: the port is in use/);
    });

    test('a plain GET of the WebSocket endpoint gets 426 with a hint', async () => {
      const bytes = await exchange(server.port, ['GET /pfx/app/app-key HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n']);
      assert.deepEqual(statusLines(bytes), ['HTTP/1.1 426']);
      assert.match(bytes.toString(), /WebSocket endpoint/);
    });

    test('the HTTP API answers with and without the path prefix, the socket endpoint only under it', async () => {
      for (const path of ['/pfx/up', '/up']) {
        const bytes = await exchange(server.port, [`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`]);
        assert.deepEqual(statusLines(bytes), ['HTTP/1.1 200'], path);
      }
      const frames = serverFrames(await exchange(server.port, [HANDSHAKE('/pfx/app/app-key')]));
      assert.match(frames[0]![1].toString(), /pusher:connection_established/);
      for (const path of ['/app/app-key', '/pfx/elsewhere/app-key']) {
        assert.deepEqual(statusLines(await exchange(server.port, [HANDSHAKE(path)])), ['HTTP/1.1 404'], path);
      }
    });

    // uWS (C++, not patchable from JS) reads a mask key whether or not the bit is set, so an
    // unmasked frame is never read as the message it carries; ws fails the connection (RFC 6455 §5.1).
    test('an unmasked client frame is not served (ws: Close 1002)', async () => {
      const ping = Buffer.from('{"event":"pusher:ping","data":{}}');
      const bytes = await exchange(server.port, [HANDSHAKE('/pfx/app/app-key'), clientFrame(1, ping, false)]);
      assert.ok(!bytes.toString().includes('pusher:pong'), 'the unmasked frame was served');
      if (transport === 'node') assert.equal(closeCode(bytes), 1002);
    });

    // uWS drops the TCP connection on invalid UTF-8 without a Close frame (the client sees 1006);
    // the message never reaches the server. ws sends Close 1007 (RFC 6455 §8.1).
    test('invalid UTF-8 in a text frame ends the connection (ws: Close 1007)', async () => {
      const bytes = await exchange(server.port, [HANDSHAKE('/pfx/app/app-key'), clientFrame(1, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))]);
      assert.equal(closeCode(bytes), transport === 'node' ? 1007 : undefined);
    });
  });
}
