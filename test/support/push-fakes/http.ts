// What the HTTP fake push providers share: a real server on 127.0.0.1 that hands each request,
// body read, to the fake and writes its reply; and per-device scripts that make it answer 429,
// 500 … the n-th time, as a test asks, after the fake's own checks passed.
import { createServer, type IncomingHttpHeaders } from 'node:http';

export interface FakeRequest {
  method: string;
  /** Path and query, as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface FakeReply {
  status: number;
  headers?: Record<string, string>;
  /** Objects are sent as JSON. */
  body?: string | object;
}

export interface FakeServer {
  /** `http://127.0.0.1:{port}` */
  origin: string;
  close(): Promise<void>;
}

export async function startFakeServer(handle: (request: FakeRequest) => Promise<FakeReply> | FakeReply): Promise<FakeServer> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        let reply: FakeReply;
        try {
          reply = await handle({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks) });
        } catch (error) {
          // A fake that throws is a bug in the fake: say so in the answer the test will see.
          reply = { status: 599, body: `fake failed: ${(error as Error).message}` };
        }
        const json = typeof reply.body === 'object';
        const body = json ? JSON.stringify(reply.body) : (reply.body ?? '');
        res.writeHead(reply.status, { ...(json ? { 'Content-Type': 'application/json' } : {}), ...reply.headers }).end(body);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    origin: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Given the n-th request (from 1) for one device: a reply, or undefined to answer as the provider would. */
export type Script = (n: number) => FakeReply | undefined;

export class Scripts {
  private readonly scripts = new Map<string, { script: Script; count: number }>();

  set(device: string, script: Script): void {
    this.scripts.set(device, { script, count: 0 });
  }

  next(device: string): FakeReply | undefined {
    const entry = this.scripts.get(device);
    if (entry === undefined) return undefined;
    entry.count += 1;
    return entry.script(entry.count);
  }
}
