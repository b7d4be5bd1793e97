// A Broadcasty started in the test's own process on a free port, and a raw WebSocket client
// that records every frame — for tests that assert exact wire shapes.
import { WebSocket } from 'ws';
import { loadConfig } from '../../src/config/load.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { FrameLog, type Frame } from './frame-log.js';

export async function startTestServer(overrides: Record<string, unknown> = {}): Promise<RunningServer> {
  const config = loadConfig({ env: {}, overrides: { host: '127.0.0.1', port: 0, logLevel: 'silent', ...overrides } });
  return startServer(config);
}

export type { Frame };

export class RawClient {
  private readonly log = new FrameLog();
  readonly frames: Frame[] = this.log.frames;
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (raw) => this.log.received(raw.toString()));
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
    return this.log.next(predicate, timeoutMs);
  }

  /** The frame exactly as it arrived. */
  text(frame: Frame): string {
    return this.log.text(frame);
  }

  established(): Promise<string> {
    return this.log.established();
  }

  close(): void {
    this.ws.close();
  }
}
