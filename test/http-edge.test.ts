// The HTTP edge on both transports: request headers and the peer address reach a handler,
// streamed responses keep to their buffer cap under a slow or absent reader, and CORS per app.
// The transport-level tests drive a real transport with a test handler (no product endpoint
// streams yet); CORS runs through the whole server.
import assert from 'node:assert/strict';
import { get, request as httpRequest, type IncomingMessage } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { signRequest } from '../protocol/index.js';
import { createLogger } from '../src/logger.js';
import type { RunningServer } from '../src/server.js';
import { FdBudget } from '../src/transport/fd-budget.js';
import { createTransport } from '../src/transport/index.js';
import { loadNativeUws } from '../src/transport/load-uws.js';
import type { HttpAnswer, HttpRequest, ResponseStream, SocketHandlers, StreamAbortReason, Transport } from '../src/transport/types.js';
import { startTestServer } from './support/in-process.js';

const native = loadNativeUws();
const transports: ('node' | 'uws')[] = ['node', ...('uws' in native ? (['uws'] as const) : [])];

const MiB = 1024 * 1024;
const STREAM_CAP = MiB;
const CHUNK = 'x'.repeat(64 * 1024);
/** An endless producer stops here, so a stream that is never cut fails its test instead of hanging. */
const GIVE_UP = 256 * MiB;

const noSockets: SocketHandlers<undefined> = {
  open: (socket) => {
    socket.close(4001, 'no sockets in this test');
    return undefined;
  },
  message: () => {},
  activity: () => {},
  drain: () => {},
  close: () => {},
};

/** A transport of the given kind serving `handler` on a free loopback port. */
async function serve(kind: 'node' | 'uws', handler: (request: HttpRequest) => HttpAnswer | Promise<HttpAnswer>): Promise<{ port: number; transport: Transport }> {
  const transport = createTransport(
    kind,
    {
      host: '127.0.0.1',
      port: 0,
      pathPrefix: '',
      maxMessageBytes: 100 * 1024,
      maxRequestBytes: MiB,
      hardBackpressureBytes: 16 * MiB,
      exclusivePort: true,
      fds: FdBudget.forProcess(256),
      sockets: noSockets,
      maxStreamBufferBytes: STREAM_CAP,
      http: handler,
    },
    createLogger('silent'),
  );
  return { port: await transport.listen(), transport };
}

/** What a streaming handler saw. */
interface StreamLog {
  written: number;
  refused: number;
  resumed: number;
  maxBuffered: number;
  aborted?: StreamAbortReason;
  writeAfterAbort?: boolean;
  closed: Promise<void>;
}

/**
 * Streams `total` bytes (forever when undefined) in 64 KiB chunks. `polite`: waits for onWritable
 * after a refused write, as a producer should; otherwise keeps writing on every turn, as a fan-out
 * that cannot wait does. `stopWhenRefused`: goes quiet after the first refused write.
 */
function streamer(log: StreamLog & { done: () => void }, total: number | undefined, polite: boolean, stopWhenRefused = false) {
  return (out: ResponseStream): void => {
    out.onAborted((reason) => {
      log.aborted = reason;
      log.writeAfterAbort = out.write(CHUNK);
      log.done();
    });
    const pump = (): void => {
      // Bounded: 50 MB / 64 KiB = 800 chunks; the impolite producer is cut after ~1 MiB of backlog.
      for (let i = 0; i < 2000 && !out.isClosed; i++) {
        if (log.written >= (total ?? GIVE_UP)) {
          out.end();
          log.done();
          return;
        }
        const taken = out.write(CHUNK);
        log.written += CHUNK.length;
        log.maxBuffered = Math.max(log.maxBuffered, out.bufferedBytes());
        if (!taken) {
          log.refused += 1;
          if (polite) return;
          setImmediate(pump);
          return;
        }
      }
    };
    out.onWritable(() => {
      log.resumed += 1;
      if (!stopWhenRefused) pump();
    });
    pump();
  };
}

function newLog(): StreamLog & { done: () => void } {
  let done!: () => void;
  const closed = new Promise<void>((resolve) => (done = resolve));
  return { written: 0, refused: 0, resumed: 0, maxBuffered: 0, closed, done };
}

const open = (port: number, path: string, headers: Record<string, string | string[]> = {}) =>
  new Promise<IncomingMessage>((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path, headers }, resolve);
    req.on('error', reject);
  });

const bodyOf = async (res: IncomingMessage) => {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
};

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

for (const kind of transports) {
  // A stream whose close never reaches the handler would otherwise wait for onWritable forever.
  describe(`transport ${kind}: HTTP request headers and streamed responses`, { timeout: 60_000 }, () => {
    test('request headers (lower-cased, repeats joined) and the peer address reach the handler', async () => {
      const { port, transport } = await serve(kind, (request) => ({
        status: 200,
        body: JSON.stringify({ headers: request.headers, remoteAddress: request.remoteAddress }),
      }));
      try {
        const res = await open(port, '/anything', { Authorization: 'Bearer abc.def', 'Last-Event-ID': '42', 'X-Tag': ['one', 'two'] });
        const seen = JSON.parse(await bodyOf(res)) as { headers: Record<string, string>; remoteAddress: string };
        assert.equal(seen.headers.authorization, 'Bearer abc.def');
        assert.equal(seen.headers['last-event-id'], '42');
        assert.equal(seen.headers['x-tag'], 'one, two');
        assert.equal(seen.headers.host, `127.0.0.1:${port}`);
        assert.match(seen.remoteAddress, /^(::ffff:)?127\.0\.0\.1$/);
      } finally {
        transport.stopListening();
      }
    });

    test('50 MB to a slow reader: write() refuses, onWritable resumes, the backlog stays under the cap, every byte arrives', async () => {
      const total = 50 * MiB;
      const log = newLog();
      const { port, transport } = await serve(kind, () => ({ status: 200, contentType: 'text/plain', headers: { 'Cache-Control': 'no-cache' }, stream: streamer(log, total, true) }));
      try {
        const res = await open(port, '/stream');
        assert.equal(res.statusCode, 200);
        assert.equal(res.headers['content-type'], 'text/plain');
        assert.equal(res.headers['cache-control'], 'no-cache');
        let received = 0;
        let sinceNap = 0;
        let maxLead = 0;
        for await (const chunk of res) {
          received += (chunk as Buffer).byteLength;
          sinceNap += (chunk as Buffer).byteLength;
          // A reader slower than the server: a nap after every 2 MiB.
          if (sinceNap >= 2 * MiB) {
            sinceNap = 0;
            maxLead = Math.max(maxLead, log.written - received);
            await pause(10);
          }
        }
        await log.closed;
        assert.equal(received, total);
        assert.equal(log.aborted, undefined);
        assert.ok(log.refused > 0, 'write() never reported backpressure');
        assert.ok(log.resumed > 0, 'onWritable never fired');
        assert.ok(log.maxBuffered <= STREAM_CAP, `backlog reached ${log.maxBuffered} bytes`);
        // The producer was held back: never further ahead of the reader than the cap plus what the
        // kernel's loopback buffers take (a few MiB), where ignoring backpressure would be ~48 MB.
        assert.ok(maxLead < 24 * MiB, `the producer ran ${(maxLead / MiB).toFixed(1)} MiB ahead of the reader`);
      } finally {
        transport.stopListening();
      }
    });

    test('a client that leaves mid-stream: onAborted("client-gone"), later writes return false without throwing', async () => {
      const log = newLog();
      const { port, transport } = await serve(kind, () => ({ status: 200, stream: streamer(log, undefined, true) }));
      try {
        const res = await open(port, '/stream');
        let received = 0;
        for await (const chunk of res) {
          received += (chunk as Buffer).byteLength;
          if (received >= MiB) break; // destroys the response and its socket
        }
        await log.closed;
        assert.equal(log.aborted, 'client-gone');
        assert.equal(log.writeAfterAbort, false);
      } finally {
        transport.stopListening();
      }
    });

    test('a stream that goes quiet while behind still delivers every byte it wrote', async () => {
      const log = newLog();
      const { port, transport } = await serve(kind, () => ({ status: 200, stream: streamer(log, undefined, true, true) }));
      try {
        const res = await open(port, '/stream');
        res.pause();
        // Bounded: the producer stops at its first refused write, after at most GIVE_UP bytes.
        for (let i = 0; i < 200 && log.refused === 0; i++) await pause(10);
        assert.equal(log.refused, 1);
        let received = 0;
        res.on('data', (chunk: Buffer) => (received += chunk.byteLength));
        res.resume();
        for (let i = 0; i < 300 && received < log.written; i++) await pause(10);
        assert.ok(received >= log.written, `received ${received} of ${log.written} bytes`);
        res.destroy();
      } finally {
        transport.stopListening();
      }
    });

    test('a client that stops reading is cut at the buffer cap ("too-slow"), not buffered without bound', async () => {
      const log = newLog();
      const { port, transport } = await serve(kind, () => ({ status: 200, stream: streamer(log, undefined, false) }));
      try {
        const res = await open(port, '/stream');
        res.pause();
        await log.closed;
        assert.equal(log.aborted, 'too-slow');
        assert.equal(log.writeAfterAbort, false);
        // What the kernel's socket buffers hold plus the cap; far from unbounded.
        assert.ok(log.written < 64 * MiB, `wrote ${log.written} bytes before the cut`);
        res.destroy();
      } finally {
        transport.stopListening();
      }
    });
  });

  describe(`transport ${kind}: CORS on the HTTP API`, () => {
    let server: RunningServer;
    const GOOD = 'https://good.example';
    before(async () => {
      server = await startTestServer({ transport: kind, apps: [{ id: 'app-id', key: 'app-key', secret: 'app-secret', allowedOrigins: [GOOD] }] });
    });
    after(() => server.shutdown());

    const call = (method: string, path: string, headers: Record<string, string>, body?: string) =>
      new Promise<{ status: number; headers: IncomingMessage['headers']; body: string }>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port: server.port, method, path, headers }, (res) => {
          void bodyOf(res).then((text) => resolve({ status: res.statusCode!, headers: res.headers, body: text }), reject);
        });
        req.on('error', reject);
        req.end(body);
      });

    const preflight = (origin: string, path = '/apps/app-id/events') =>
      call('OPTIONS', path, { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' });

    test('a preflight from an allowed origin: 204 with the allowed methods, headers and max age', async () => {
      const res = await preflight(GOOD);
      assert.equal(res.status, 204);
      assert.equal(res.headers['access-control-allow-origin'], GOOD);
      assert.equal(res.headers.vary, 'Origin');
      assert.match(res.headers['access-control-allow-methods'] ?? '', /\bPOST\b/);
      assert.match(res.headers['access-control-allow-headers'] ?? '', /Content-Type/i);
      assert.equal(res.headers['access-control-max-age'], '600');
    });

    test('a preflight from another origin: 403 naming the origin, no Allow-Origin', async () => {
      const res = await preflight('https://evil.example');
      assert.equal(res.status, 403);
      assert.equal(res.headers['access-control-allow-origin'], undefined);
      assert.match(res.body, /Origin https:\/\/evil\.example is not allowed for app app-id/);
    });

    test('a preflight for an unknown app: 404', async () => {
      const res = await preflight(GOOD, '/apps/nope/events');
      assert.equal(res.status, 404);
      assert.match(res.body, /Unknown app id nope/);
    });

    test('a signed event from an allowed origin carries Access-Control-Allow-Origin; another origin and no origin do not', async () => {
      const path = '/apps/app-id/events';
      const body = JSON.stringify({ name: 'e', channel: 'c', data: '{}' });
      const signed = () => `${path}?${signRequest({ method: 'POST', path, key: 'app-key', secret: 'app-secret', body })}`;
      const json = { 'Content-Type': 'application/json' };
      const allowed = await call('POST', signed(), { ...json, Origin: GOOD }, body);
      assert.equal(allowed.status, 200, allowed.body);
      assert.equal(allowed.headers['access-control-allow-origin'], GOOD);
      assert.equal(allowed.headers.vary, 'Origin');
      const other = await call('POST', signed(), { ...json, Origin: 'https://evil.example' }, body);
      assert.equal(other.status, 200);
      assert.equal(other.headers['access-control-allow-origin'], undefined);
      const sdk = await call('POST', signed(), json, body);
      assert.equal(sdk.status, 200);
      assert.equal(sdk.headers['access-control-allow-origin'], undefined);
    });

    test('an unsigned call from an allowed origin: the 401 is readable by the page', async () => {
      const res = await call('GET', '/apps/app-id/channels', { Origin: GOOD });
      assert.equal(res.status, 401);
      assert.equal(res.headers['access-control-allow-origin'], GOOD);
    });
  });
}
