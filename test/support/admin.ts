// The admin API as the console and the CLI call it (docs/PROTOCOL.md §17.1, §17.2): JSON requests
// with a bearer token, and the live tap read as an SSE stream of activity.
import { request } from 'node:http';
import { EventStreamParser, readEventStream } from '../../protocol/event-stream.js';

export interface AdminReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The parsed body when it is JSON. */
  body: any;
}

export interface AdminRequest {
  token?: string;
  method?: string;
  body?: unknown;
  /** Source address of the request: 127.0.0.2 is not loopback to the server's check. */
  localAddress?: string;
  /** Sent as given, after the defaults (a `content-type` or `host` here replaces the default). */
  headers?: Record<string, string>;
}

export function adminRequest(port: number, path: string, options: AdminRequest = {}): Promise<AdminReply> {
  const payload = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (payload !== undefined) headers['content-type'] = 'application/json';
  Object.assign(headers, options.headers);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? (payload === undefined ? 'GET' : 'POST'), headers, localAddress: options.localAddress }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode!, headers: res.headers, text, body });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

export interface TapEvent {
  event: string;
  data: any;
}

/** An open GET /admin/apps/{id}/tap: every event received, in order. */
export class TapStream {
  readonly events: TapEvent[] = [];
  raw = '';
  /** The server ended the response (close() does not set it). */
  endedByServer = false;
  private readonly parser = new EventStreamParser(({ event, data }) => this.dispatch({ event, data: JSON.parse(data) }));
  private waiters: { predicate: (e: TapEvent) => boolean; resolve: (e: TapEvent) => void }[] = [];

  private constructor(
    readonly status: number,
    readonly headers: Headers,
    private readonly abort: AbortController,
  ) {}

  static async open(port: number, appId: string, query: string, token?: string): Promise<TapStream> {
    const abort = new AbortController();
    const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
    const response = await fetch(`http://127.0.0.1:${port}/admin/apps/${encodeURIComponent(appId)}/tap?${query}`, { headers, signal: abort.signal });
    const tap = new TapStream(response.status, response.headers, abort);
    if (response.status !== 200) throw new Error(`tap refused: ${response.status} ${await response.text()}`);
    readEventStream(response.body!, (text) => {
      tap.raw += text;
      tap.parser.push(text);
    }).then(
      () => (tap.endedByServer = true),
      () => undefined, // Aborted by close().
    );
    return tap;
  }

  /** The first event (received or arriving) that matches. */
  next(predicate: (e: TapEvent) => boolean, timeoutMs = 15_000): Promise<TapEvent> {
    const seen = this.events.find(predicate);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching tap event within ${timeoutMs} ms; got ${JSON.stringify(this.events)}`)), timeoutMs);
      this.waiters.push({
        predicate,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  }

  matching(predicate: (e: TapEvent) => boolean): TapEvent[] {
    return this.events.filter(predicate);
  }

  close(): void {
    this.abort.abort();
  }

  private dispatch(received: TapEvent): void {
    this.events.push(received);
    for (const waiter of this.waiters.filter((w) => w.predicate(received))) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve(received);
    }
  }
}
