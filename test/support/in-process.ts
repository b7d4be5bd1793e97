// A Broadcasty started in the test's own process on a free port, and a raw WebSocket client
// that records every frame — for tests that assert exact wire shapes.
import { WebSocket } from 'ws';
import { loadConfig } from '../../src/config/load.js';
import { startServer, type RunningServer } from '../../src/server.js';

export async function startTestServer(overrides: Record<string, unknown> = {}): Promise<RunningServer> {
  const config = loadConfig({ env: {}, overrides: { host: '127.0.0.1', port: 0, logLevel: 'silent', ...overrides } });
  return startServer(config);
}

export interface Frame {
  event: string;
  channel?: string;
  data?: unknown;
  user_id?: string;
}

export class RawClient {
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: { predicate: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (raw) => {
      const frame = JSON.parse(raw.toString()) as Frame;
      this.frames.push(frame);
      this.waiters = this.waiters.filter((w) => (w.predicate(frame) ? (w.resolve(frame), false) : true));
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static async connect(port: number, key = 'app-key', query = 'protocol=7&client=js&version=8.4.0&flash=false'): Promise<RawClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/app/${key}?${query}`);
    const client = new RawClient(ws);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return client;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Resolves with the first frame (already received or arriving) that matches. */
  next(predicate: (f: Frame) => boolean = () => true, timeoutMs = 3000): Promise<Frame> {
    const seen = this.frames.find(predicate);
    if (seen !== undefined) {
      this.frames.splice(this.frames.indexOf(seen), 1);
      return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames)}`)), timeoutMs);
      this.waiters.push({
        predicate,
        resolve: (f) => {
          clearTimeout(timer);
          this.frames.splice(this.frames.indexOf(f), 1);
          resolve(f);
        },
      });
    });
  }

  async established(): Promise<string> {
    const frame = await this.next((f) => f.event === 'pusher:connection_established');
    return (JSON.parse(frame.data as string) as { socket_id: string }).socket_id;
  }

  close(): void {
    this.ws.close();
  }
}
