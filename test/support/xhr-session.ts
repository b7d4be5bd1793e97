// A raw pusher-js HTTP fallback session (docs/PROTOCOL.md §7.2) over Node's http: receives on
// xhr_streaming or xhr as pusher-js does, records the wire lines (`o`, `h`, `c[…]`) and the Pusher
// frames inside `a[…]`, and sends through xhr_send — for tests that assert the exact wire.
import { randomInt } from 'node:crypto';
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { FrameLog, type Frame } from './frame-log.js';

export interface HttpAnswer {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface XhrOptions {
  key?: string;
  /** The client's source address (127.0.0.2 plays another client). */
  localAddress?: string;
  /** An explicit `{server}/{session}`, to reuse another session's. */
  session?: string;
}

/** POST to the server, answered as a whole. */
export function post(port: number, path: string, body = '', localAddress?: string, method = 'POST'): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, localAddress, agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** pusher-js's `{server}/{session}`: a number below 1000 and 8 base-32 characters (http_socket.ts). */
export const newSessionPath = (): string => `${randomInt(1000)}/${Array.from({ length: 8 }, () => randomInt(32).toString(32)).join('')}`;

export class XhrSession {
  readonly session: string;
  /** Every wire line in arrival order, `a[…]` ones included. */
  readonly lines: string[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  /** The first receive answer's status and headers. */
  readonly answered: Promise<IncomingMessage>;
  private readonly log = new FrameLog();
  readonly frames: Frame[] = this.log.frames;
  /** The last receive response ended (a streamed one only ends when the server replaces or closes it). */
  ended = false;
  private receiving: ClientRequest | undefined;
  private response: IncomingMessage | undefined;
  private stopped = false;
  private onClosed!: (close: { code: number; reason: string }) => void;
  private onAnswered!: (res: IncomingMessage) => void;

  constructor(
    readonly port: number,
    readonly transport: 'xhr_streaming' | 'xhr',
    private readonly options: XhrOptions = {},
  ) {
    this.session = options.session ?? newSessionPath();
    this.closed = new Promise((resolve) => (this.onClosed = resolve));
    this.answered = new Promise((resolve) => (this.onAnswered = resolve));
  }

  get base(): string {
    return `/pusher/app/${this.options.key ?? 'app-key'}/${this.session}`;
  }

  /** Starts receiving (a polling session keeps polling while answers are 200 and it is not closed). */
  start(): this {
    this.receive();
    return this;
  }

  /** Waits for connection_established; resolves to the socket_id. */
  established(): Promise<string> {
    return this.log.established();
  }

  next(predicate: (f: Frame) => boolean = () => true, timeoutMs = 3000): Promise<Frame> {
    return this.log.next(predicate, timeoutMs);
  }

  text(frame: Frame): string {
    return this.log.text(frame);
  }

  /** xhr_send with these messages (objects are JSON-encoded, as pusher-js's send does). */
  send(...messages: unknown[]): Promise<HttpAnswer> {
    return this.sendRaw(JSON.stringify(messages.map((m) => (typeof m === 'string' ? m : JSON.stringify(m)))));
  }

  sendRaw(body: string): Promise<HttpAnswer> {
    return post(this.port, `${this.base}/xhr_send?t=${Date.now()}&n=1`, body, this.options.localAddress);
  }

  /** Stops reading the stream without closing it: the client that never reads. */
  pause(): void {
    this.response?.pause();
    this.response?.socket.pause();
  }

  /** The client goes away: the receive request is aborted and nothing polls again. */
  stop(): void {
    this.stopped = true;
    this.receiving?.destroy();
  }

  private receive(): void {
    const path = `${this.base}/${this.transport}?protocol=7&client=js&version=8.6.0&t=${Date.now()}&n=0`;
    const req = request({ host: '127.0.0.1', port: this.port, path, method: 'POST', localAddress: this.options.localAddress, agent: false }, (res) => {
      this.response = res;
      this.ended = false;
      this.onAnswered(res);
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf('\n'); end !== -1; end = buffer.indexOf('\n')) {
          this.line(buffer.slice(0, end));
          buffer = buffer.slice(end + 1);
        }
      });
      res.on('end', () => {
        this.ended = true;
        if (this.transport === 'xhr' && res.statusCode === 200 && !this.stopped) this.receive();
      });
      res.on('error', () => undefined);
    });
    req.on('error', () => undefined);
    this.receiving = req;
    req.end();
  }

  private line(line: string): void {
    this.lines.push(line);
    if (line.startsWith('a')) {
      for (const frame of JSON.parse(line.slice(1)) as string[]) this.log.received(frame);
    } else if (line.startsWith('c')) {
      const [code, reason] = JSON.parse(line.slice(1)) as [number, string];
      this.stopped = true;
      this.onClosed({ code, reason });
    }
  }
}
