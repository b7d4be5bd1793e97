// Benchmark clients over plain HTTP, beside the WebSocket one in conn.ts: an SSE stream
// (`GET /broadcasty/sse`, PROTOCOL §15.2) and a pusher-js xhr_streaming session (§7.2). Both find
// timed payloads by the `__bt` marker, line by line, without parsing them.
import { randomInt } from 'node:crypto';
import { KeepAliveConnection } from './http-client.js';
import { HttpStream } from './http-stream.js';
import { MARK, subscribeFrame, Subscriber, type Counters } from './conn.js';
import type { ConnectCommand } from './ipc.js';
import { now } from './stats.js';

const DATA = Buffer.from('data:');
/** Control frames (connection_established, ping, errors) all carry it; the bench's own events never do. */
const PUSHER = Buffer.from('pusher');
const enum Frame {
  Array = 0x61, // a["…",…]
  Heartbeat = 0x68, // h
  Close = 0x63, // c[code,"reason"]
}

/** `GET /broadcasty/sse?app={key}&channel={planned channel}`, subscribed before the server answers. */
export class SseConn extends Subscriber {
  private readonly stream: HttpStream | null = null;
  /** subscription_succeeded can arrive in the same read as the 200 head, before subscribe() is called. */
  private subscribed = false;

  constructor(index: number, cmd: ConnectCommand, counters: Counters) {
    super(index, cmd, counters);
    if (this.channel === null) {
      this.settle(new Error('an SSE stream subscribes when it opens: it needs a planned channel'));
      return;
    }
    const url = new URL(cmd.url);
    url.searchParams.append('channel', this.channel);
    this.stream = new HttpStream(
      { host: url.hostname, port: Number(url.port), localAddress: cmd.addresses[index % cmd.addresses.length], method: 'GET', path: url.pathname + url.search, headers: 'Accept: text/event-stream\r\n' },
      {
        onOpen: () => {
          this.established = true;
          this.settle(null, 'established');
        },
        onLine: (line) => this.onLine(line),
        onEnd: (reason) => this.ended(reason),
      },
    );
  }

  async subscribe(): Promise<number> {
    const t0 = now();
    if (!this.subscribed) await this.wait('subscribed');
    return now() - t0;
  }

  close(): void {
    this.closing = true;
    this.stream?.close();
  }

  get isOpen(): boolean {
    return this.established && this.stream !== null && this.stream.isOpen;
  }

  /** `data: <the Pusher frame>` carries everything; `event:`, `id:`, `retry:` and `: heartbeat` lines need nothing. */
  private onLine(line: Buffer): void {
    const at = line.indexOf(MARK);
    if (at !== -1) return this.delivered(line, at + MARK.length);
    if (line.length <= DATA.length || line.compare(DATA, 0, DATA.length, 0, DATA.length) !== 0) return;
    let frame: { event?: string; data?: unknown };
    try {
      frame = JSON.parse(line.toString('utf8', DATA.length));
    } catch {
      return this.counters.error(`unparseable SSE data: ${line.toString().slice(0, 80)}`);
    }
    if (frame.event === 'pusher_internal:subscription_succeeded') this.subscribed = true;
    this.control(frame, null);
  }
}

let requestCounter = 1;
/** pusher-js's `&t=<ms>&n=<counter>` on every request (http_socket.ts getUniqueURL). */
const unique = (path: string): string => `${path}${path.includes('?') ? '&' : '?'}t=${Date.now()}&n=${requestCounter++}`;
/** pusher-js's session path part: a number below 1000 and 8 base-32 characters. */
const sessionId = (): string => `${randomInt(1000)}/${Array.from({ length: 8 }, () => randomInt(32).toString(32)).join('')}`;

/**
 * A pusher-js xhr_streaming session: one streamed `POST …/xhr_streaming` receives, each message goes
 * in its own `POST …/xhr_send` from the same source address, `h` is answered with `[]` as pusher-js does.
 * Unlike pusher-js it does not reopen its stream every 256 KiB (see the README).
 */
export class XhrConn extends Subscriber {
  private readonly stream: HttpStream;
  private readonly sessionPath: string;
  private readonly host: string;
  private readonly port: number;
  private readonly localAddress: string;

  constructor(index: number, cmd: ConnectCommand, counters: Counters) {
    super(index, cmd, counters);
    const url = new URL(cmd.url);
    this.host = url.hostname;
    this.port = Number(url.port);
    this.localAddress = cmd.addresses[index % cmd.addresses.length];
    this.sessionPath = `${url.pathname}/${sessionId()}`;
    this.stream = new HttpStream(
      { host: this.host, port: this.port, localAddress: this.localAddress, method: 'POST', path: unique(`${this.sessionPath}/xhr_streaming${url.search}`), headers: '' },
      { onOpen: () => undefined, onLine: (line) => this.onLine(line), onEnd: (reason) => this.ended(reason) },
    );
  }

  async subscribe(): Promise<number> {
    if (!this.channel) throw new Error('no channel planned');
    const t0 = now();
    const done = this.wait('subscribed');
    void this.send([subscribeFrame(this.cmd, this.channel, this.socketId, this.index)]);
    await done;
    return now() - t0;
  }

  close(): void {
    this.closing = true;
    this.stream.close();
  }

  get isOpen(): boolean {
    return this.established && this.stream.isOpen;
  }

  private onLine(line: Buffer): void {
    switch (line[0]) {
      case Frame.Array: {
        // A batch carries several frames: every marker is one delivery.
        let at = line.indexOf(MARK);
        if (at !== -1) {
          do {
            this.delivered(line, at + MARK.length);
            at = line.indexOf(MARK, at + MARK.length);
          } while (at !== -1);
          if (line.indexOf(PUSHER) === -1) return;
        }
        let texts: unknown;
        try {
          texts = JSON.parse(line.toString('utf8', 1));
        } catch {
          return this.counters.error(`unparseable xhr_streaming line: ${line.toString().slice(0, 80)}`);
        }
        for (const text of texts as string[]) {
          if (text.includes('__bt')) continue;
          try {
            this.control(JSON.parse(text) as { event?: string; data?: unknown }, (pong) => void this.send([pong]));
          } catch {
            this.counters.error(`unparseable frame in a[…]: ${text.slice(0, 80)}`);
          }
        }
        return;
      }
      case Frame.Heartbeat:
        return void this.send([]);
      case Frame.Close: {
        const [code, reason] = safeArray(line.toString('utf8', 1));
        this.stream.close();
        return this.ended(`${String(code)} ${String(reason)}`);
      }
      default:
        return; // `o`: the open frame; the session counts as established at connection_established
    }
  }

  /** One `xhr_send` on its own connection, so an idle session holds one socket, as its stream. */
  private async send(messages: string[]): Promise<void> {
    const connection = new KeepAliveConnection(this.host, this.port, this.localAddress);
    try {
      const answer = await connection.request('POST', unique(`${this.sessionPath}/xhr_send`), JSON.stringify(messages), this.cmd.timeoutMs);
      if (answer.status !== 204) throw new Error(`xhr_send answered ${answer.status} ${answer.body.slice(0, 120)}`);
    } catch (err) {
      this.counters.error((err as Error).message);
      this.settle(err as Error);
    } finally {
      connection.close();
    }
  }
}

function safeArray(text: string): unknown[] {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value : [text];
  } catch {
    return [text];
  }
}
