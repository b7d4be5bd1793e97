// The webhook endpoint the server under test posts to (docs/PROTOCOL.md §6). It records every request
// verbatim (headers + raw body) and can fail the first delivery of chosen channels' events so
// retries can be observed without disturbing other cases (item 114).
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { CaseContext } from '../types.js';

export interface WebhookEvent {
  name: string;
  channel?: string;
  user_id?: unknown;
  event?: string;
  data?: unknown;
  socket_id?: string;
  [key: string]: unknown;
}

export interface Delivery {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** Parsed body, or undefined when it was not JSON. */
  json?: { time_ms?: unknown; events?: WebhookEvent[] };
  at: number;
  status: number;
}

export interface Hit {
  delivery: Delivery;
  event: WebhookEvent;
}

export class WebhookReceiver {
  private static shared?: { receiver: WebhookReceiver; users: number };
  readonly deliveries: Delivery[] = [];
  /** Channels whose first delivery attempt is answered 500 (item 114). */
  readonly failFirst = new Set<string>();
  private readonly failed = new Set<string>();
  private listeners = new Set<() => void>();

  private constructor(private readonly server: Server) {
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let json: Delivery['json'];
        try {
          json = JSON.parse(body);
        } catch {
          json = undefined;
        }
        const channels = (json?.events ?? []).map((e) => String(e.channel));
        const flaky = channels.find((c) => this.failFirst.has(c) && !this.failed.has(c));
        if (flaky !== undefined) this.failed.add(flaky);
        const status = flaky !== undefined ? 500 : 200;
        this.deliveries.push({ path: req.url ?? '', headers: req.headers, body, json, at: Date.now(), status });
        res.writeHead(status, { 'Content-Type': 'text/plain' }).end(status === 200 ? 'ok' : 'try again');
        for (const l of this.listeners) l();
      });
    });
  }

  /** One receiver per port for the whole run, shared by the cases that are using it at the time. */
  static async acquire(ctx: CaseContext, port: number): Promise<WebhookReceiver> {
    if (!WebhookReceiver.shared) {
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', resolve);
      });
      WebhookReceiver.shared = { receiver: new WebhookReceiver(server), users: 0 };
    }
    const shared = WebhookReceiver.shared;
    shared.users++;
    ctx.cleanup(async () => {
      if (--shared.users > 0) return;
      WebhookReceiver.shared = undefined;
      shared.receiver.server.closeAllConnections();
      await new Promise((r) => shared.receiver.server.close(r));
    });
    return shared.receiver;
  }

  /** Every (delivery, event) pair received so far that matches. */
  hits(pred: (h: Hit) => boolean): Hit[] {
    return this.deliveries.flatMap((delivery) => (delivery.json?.events ?? []).map((event) => ({ delivery, event }))).filter(pred);
  }

  /** Waits until `count` matching hits exist (counting earlier ones too). */
  waitFor(pred: (h: Hit) => boolean, ms: number, what: string, count = 1): Promise<Hit[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.hits(pred);
        if (found.length < count) return;
        this.listeners.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`webhook: ${what} not received within ${ms} ms; got ${this.describe()}`));
      }, ms);
      this.listeners.add(check);
      check();
    });
  }

  describe(): string {
    return this.deliveries.slice(-12).map((d) => `${d.path} ${d.status} ${d.body}`).join(' | ').slice(0, 1500) || 'nothing';
  }
}
