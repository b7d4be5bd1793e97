// A real HTTP webhook receiver: checks every request the way an app does (the `pusher` Node
// SDK's webhook().isValid()) plus the exact headers, and answers per path as a test scripts it
// (500s, hangs past the timeout) to exercise retries.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import PusherServer from 'pusher';
import { hmacHex, type WebhookEvent } from '../../protocol/index.js';

export interface Delivery {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** Receipt time, ms. */
  at: number;
  /** What the receiver answered; 0 when it hung up without answering. */
  status: number;
  /** The SDK accepted it and the headers are exactly the Pusher ones. */
  valid: boolean;
  events: WebhookEvent[];
}

/** Given the n-th request (from 1) to a path: a status, or 'hang' to never answer in time. */
export type Behaviour = (n: number) => number | 'hang';

export class WebhookReceiver {
  readonly deliveries: Delivery[] = [];
  private readonly behaviours = new Map<string, Behaviour>();
  private readonly counts = new Map<string, number>();
  private readonly sdks = new Map<string, { sdk: PusherServer; secret: string }>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(apps: { id: string; key: string; secret: string }[]): Promise<WebhookReceiver> {
    let receiver: WebhookReceiver | undefined;
    const server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => receiver!.handle(req.url ?? '/', req.headers, body, (status) => res.writeHead(status).end()));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    receiver = new WebhookReceiver(server, (server.address() as { port: number }).port);
    for (const app of apps) receiver.sdks.set(app.key, { sdk: new PusherServer({ appId: app.id, key: app.key, secret: app.secret, cluster: 'mt1' }), secret: app.secret });
    return receiver;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  behave(path: string, behaviour: Behaviour): void {
    this.behaviours.set(path, behaviour);
  }

  /** Requests to the path that were answered 2xx, i.e. delivered. */
  delivered(path: string): Delivery[] {
    return this.deliveries.filter((d) => d.path === path && d.status >= 200 && d.status < 300);
  }

  /** Events delivered to the path, in arrival order, with their POST's receipt time. */
  events(path: string): (WebhookEvent & { at: number })[] {
    return this.delivered(path).flatMap((d) => d.events.map((e) => ({ ...e, at: d.at })));
  }

  attempts(path: string): Delivery[] {
    return this.deliveries.filter((d) => d.path === path);
  }

  async until(what: string, predicate: () => boolean, timeoutMs = 8000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.deliveries.map((d) => [d.path, d.status, d.events]))}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private handle(path: string, headers: IncomingHttpHeaders, body: string, answer: (status: number) => void): void {
    const n = (this.counts.get(path) ?? 0) + 1;
    this.counts.set(path, n);
    const decision = this.behaviours.get(path)?.(n) ?? 200;
    const key = String(headers['x-pusher-key']);
    const app = this.sdks.get(key);
    const valid =
      app !== undefined &&
      app.sdk.webhook({ headers, rawBody: body }).isValid() &&
      headers['content-type'] === 'application/json' &&
      headers['x-pusher-signature'] === hmacHex(app.secret, body);
    let events: WebhookEvent[] = [];
    try {
      events = (JSON.parse(body) as { events: WebhookEvent[] }).events;
    } catch {
      // recorded as invalid
    }
    this.deliveries.push({ path, headers, body, at: Date.now(), status: decision === 'hang' ? 0 : decision, valid, events });
    if (decision !== 'hang') answer(decision);
  }
}
