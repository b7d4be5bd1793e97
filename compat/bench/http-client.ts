// Minimal keep-alive HTTP/1.1 client plus the signed-trigger load loop.
// Node's http module costs ~10x more CPU per request than this, and on a 2-core box the
// client would otherwise be what the `publish` scenario measures.
import { connect, type Socket } from 'node:net';
import { signedQuery } from './sign.js';
import { Histogram, now, sleep, type HistogramData } from './stats.js';

export interface HttpResponse {
  status: number;
  body: string;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** One TCP connection, one request in flight at a time, reconnects after errors. */
export class KeepAliveConnection {
  private socket: Socket | null = null;
  private buffer: Buffer = Buffer.alloc(0);
  private pending: { resolve(r: HttpResponse): void; reject(e: Error): void; timer: NodeJS.Timeout } | null = null;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly localAddress?: string,
  ) {}

  request(method: string, path: string, body: string, timeoutMs = 10_000): Promise<HttpResponse> {
    if (this.pending) return Promise.reject(new Error('request already in flight'));
    const socket = this.socket ?? this.open();
    return new Promise<HttpResponse>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new Error(`HTTP timeout after ${timeoutMs} ms`)), timeoutMs);
      this.pending = { resolve, reject, timer };
      const head =
        `${method} ${path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\nConnection: keep-alive\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
      socket.write(head + body);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = null;
  }

  private open(): Socket {
    const socket = connect({ host: this.host, port: this.port, localAddress: this.localAddress });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.parse();
    });
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => {
      if (this.socket === socket) this.socket = null;
      this.fail(new Error('connection closed'));
    });
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    return socket;
  }

  private fail(err: Error): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = null;
    clearTimeout(pending.timer);
    this.close(); // the stream position is unknown after a failure: start clean
    pending.reject(err);
  }

  private parse(): void {
    const pending = this.pending;
    if (!pending) return;
    const headerEnd = this.buffer.indexOf(HEADER_END);
    if (headerEnd === -1) return;
    const head = this.buffer.toString('latin1', 0, headerEnd);
    const status = Number(head.slice(9, 12));
    const lengthMatch = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    const bodyStart = headerEnd + 4;
    let body: string;
    let consumed: number;
    if (status === 204 || status === 304) {
      body = ''; // no body by definition, whatever the headers say (xhr_send answers 204)
      consumed = bodyStart;
    } else if (lengthMatch) {
      const length = Number(lengthMatch[1]);
      if (this.buffer.length < bodyStart + length) return;
      body = this.buffer.toString('utf8', bodyStart, bodyStart + length);
      consumed = bodyStart + length;
    } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      let decoded: [string, number] | null;
      try {
        decoded = decodeChunked(this.buffer, bodyStart);
      } catch (err) {
        return this.fail(err as Error); // thrown from a socket 'data' handler it would kill the process
      }
      if (!decoded) return;
      [body, consumed] = decoded;
    } else {
      // No framing: the body ends when the server closes. Servers under test always frame.
      return this.fail(new Error(`unframed HTTP response (status ${status})`));
    }
    this.buffer = this.buffer.subarray(consumed);
    this.pending = null;
    clearTimeout(pending.timer);
    if (/\r\nconnection:\s*close/i.test(head)) this.close();
    pending.resolve({ status, body });
  }
}

/** Returns [body, bytes consumed] once the whole chunked body is buffered, else null. */
function decodeChunked(buf: Buffer, start: number): [string, number] | null {
  const parts: Buffer[] = [];
  let pos = start;
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', pos);
    if (lineEnd === -1) return null;
    const size = parseInt(buf.toString('latin1', pos, lineEnd), 16);
    if (Number.isNaN(size)) throw new Error('bad chunk size');
    if (size === 0) {
      const end = buf.indexOf(HEADER_END, lineEnd - 2); // trailers (normally none) end with an empty line
      return end === -1 ? null : [Buffer.concat(parts).toString('utf8'), end + 4];
    }
    if (buf.length < lineEnd + 2 + size + 2) return null;
    parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
    pos = lineEnd + 2 + size + 2;
  }
}

export interface TriggerTarget {
  host: string;
  port: number;
  appId: string;
  key: string;
  secret: string;
}

export interface LoadSpec {
  channel: string;
  event: string;
  payloadBytes: number;
  connections: number;
  durationMs: number;
  /** Requests per second for this process; absent = as fast as the connections allow. */
  rate?: number;
  localAddress?: string;
}

export interface LoadResult {
  /** Requests that should have been sent at the target rate (rate mode) or were sent (max mode). */
  due: number;
  sent: number;
  ok: number;
  failed: number;
  statuses: Record<string, number>;
  errors: string[];
  latency: HistogramData;
  elapsedMs: number;
}

/** Builds the signed trigger; the payload carries its send time under the `__bt` marker. */
export function triggerRequest(target: TriggerTarget, spec: LoadSpec, seq: number): { path: string; body: string } {
  const pad = spec.payloadBytes > 40 ? 'x'.repeat(spec.payloadBytes - 40) : '';
  const data = `{"__bt":${now().toFixed(3)},"s":${seq},"p":"${pad}"}`;
  const body = JSON.stringify({ name: spec.event, channels: [spec.channel], data });
  const path = `/apps/${target.appId}/events`;
  return { path: `${path}?${signedQuery('POST', path, body, target.key, target.secret)}`, body };
}

/**
 * Triggers events for spec.durationMs: at a fixed rate (a request that finds no idle
 * connection is skipped and shows up as due > sent) or, without a rate, back-to-back on every
 * connection. Bounded: stops sending at the deadline and waits at most 10 s for stragglers.
 */
export async function runTriggerLoad(target: TriggerTarget, spec: LoadSpec): Promise<LoadResult> {
  const conns = Array.from({ length: spec.connections }, () => new KeepAliveConnection(target.host, target.port, spec.localAddress));
  const idle = [...conns];
  const latency = new Histogram();
  const result: LoadResult = { due: 0, sent: 0, ok: 0, failed: 0, statuses: {}, errors: [], latency: latency.toData(), elapsedMs: 0 };
  const start = now();
  const deadline = start + spec.durationMs;
  let inFlight = 0;

  const fire = (conn: KeepAliveConnection): void => {
    const { path, body } = triggerRequest(target, spec, result.sent);
    result.sent++;
    inFlight++;
    const t0 = now();
    conn.request('POST', path, body).then(
      (res) => {
        latency.recordMs(now() - t0);
        result.statuses[res.status] = (result.statuses[res.status] ?? 0) + 1;
        if (res.status === 200) result.ok++;
        else {
          result.failed++;
          if (result.errors.length < 5) result.errors.push(`${res.status} ${res.body.slice(0, 120)}`);
        }
      },
      (err: Error) => {
        result.failed++;
        if (result.errors.length < 5) result.errors.push(err.message);
      },
    ).finally(() => {
      inFlight--;
      // Max mode keeps every connection busy until the deadline; rate mode parks it.
      if (spec.rate === undefined && now() < deadline) fire(conn);
      else idle.push(conn);
    });
  };

  if (spec.rate === undefined) {
    for (const conn of idle.splice(0)) fire(conn);
    await sleep(spec.durationMs);
  } else {
    while (now() < deadline) {
      const due = Math.floor(((now() - start) / 1000) * spec.rate);
      while (result.due < due) {
        result.due++;
        const conn = idle.pop();
        if (conn) fire(conn);
      }
      await sleep(1);
    }
  }
  const drainUntil = now() + 10_000;
  while (inFlight > 0 && now() < drainUntil) await sleep(2);
  result.elapsedMs = now() - start;
  if (spec.rate === undefined) result.due = result.sent;
  for (const conn of conns) conn.close();
  result.latency = latency.toData();
  return result;
}
