// One HTTP request whose response body is read as it arrives, line by line: what the SSE and
// xhr_streaming clients (http-conns.ts) stand on. A raw socket, as in http-client.ts, so the
// client's cost per frame stays a line split and a byte search.
import { connect, type Socket } from 'node:net';

export interface StreamRequest {
  host: string;
  port: number;
  localAddress: string;
  method: 'GET' | 'POST';
  path: string;
  /** Extra header lines, each ending in \r\n. */
  headers: string;
}

export interface StreamHandlers {
  /** The 200 answer's head arrived; lines follow. */
  onOpen(): void;
  /** One complete body line without its \n; a view into the socket's buffer, valid during the call only. */
  onLine(line: Buffer): void;
  /** The stream is over (called once): a non-200 answer with its body, the server ending it, a socket error. */
  onEnd(reason: string): void;
}

const HEADER_END = Buffer.from('\r\n\r\n');
const LF = 10;
/** A non-200 answer's body is kept up to this many bytes for the error message. */
const ERROR_BODY_BYTES = 300;

export class HttpStream {
  private readonly socket: Socket;
  /** The head as it accumulates; null once parsed. */
  private head: Buffer | null = Buffer.alloc(0);
  private status = 0;
  private chunked = false;
  /** Chunked framing: data bytes left in the current chunk, CRLF bytes to skip after it, a size line in parts. */
  private chunkLeft = 0;
  private skip = 0;
  private sizeLine = '';
  /** The start of a line whose \n has not arrived yet. */
  private partial: Buffer | null = null;
  private errorBody = '';
  /** A non-200 answer with Content-Length: bytes of it still to come. */
  private errorLeft = Infinity;
  private done = false;

  constructor(request: StreamRequest, private readonly handlers: StreamHandlers) {
    this.socket = connect({ host: request.host, port: request.port, localAddress: request.localAddress });
    this.socket.setNoDelay(true);
    this.socket.on('data', (data: Buffer) => this.onData(data));
    this.socket.on('error', (err) => this.finish(`socket error: ${err.message}`));
    this.socket.on('close', () => this.finish(this.status === 0 ? 'connection closed before an answer' : this.status === 200 ? 'connection closed by the server' : `HTTP ${this.status} ${this.errorBody}`));
    const length = request.method === 'POST' ? 'Content-Length: 0\r\n' : '';
    this.socket.write(`${request.method} ${request.path} HTTP/1.1\r\nHost: ${request.host}:${request.port}\r\n${request.headers}${length}\r\n`);
  }

  get isOpen(): boolean {
    return !this.done;
  }

  /** Ends the request from the client side; onEnd is not called. */
  close(): void {
    this.done = true;
    this.socket.destroy();
  }

  private finish(reason: string): void {
    if (this.done) return;
    this.done = true;
    this.socket.destroy();
    this.handlers.onEnd(reason);
  }

  private onData(data: Buffer): void {
    if (this.done) return;
    if (this.head === null) return this.chunked ? this.feedChunked(data) : this.feedBody(data);
    this.head = this.head.length === 0 ? data : Buffer.concat([this.head, data]);
    const end = this.head.indexOf(HEADER_END);
    if (end === -1) {
      if (this.head.length > 16_384) this.finish('HTTP answer head larger than 16 KiB');
      return;
    }
    const head = this.head.toString('latin1', 0, end);
    const rest = this.head.subarray(end + 4);
    this.head = null;
    this.status = Number(head.slice(9, 12));
    this.chunked = /\r\ntransfer-encoding:\s*chunked/i.test(head);
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (this.status !== 200 && length !== null) this.errorLeft = Number(length[1]);
    if (this.status === 200) this.handlers.onOpen();
    if (rest.length > 0 || this.errorLeft === 0) this.onData(rest);
  }

  /** Chunked framing, decoded as it streams: size line, data, CRLF; a 0 size ends the response. */
  private feedChunked(data: Buffer): void {
    let pos = 0;
    while (pos < data.length && !this.done) {
      if (this.chunkLeft > 0) {
        const take = Math.min(this.chunkLeft, data.length - pos);
        this.feedBody(data.subarray(pos, pos + take));
        this.chunkLeft -= take;
        pos += take;
        if (this.chunkLeft === 0) this.skip = 2;
        continue;
      }
      if (this.skip > 0) {
        const take = Math.min(this.skip, data.length - pos);
        this.skip -= take;
        pos += take;
        continue;
      }
      const lf = data.indexOf(LF, pos);
      if (lf === -1) {
        this.sizeLine += data.toString('latin1', pos);
        return;
      }
      const size = parseInt(this.sizeLine + data.toString('latin1', pos, lf), 16); // parseInt stops at \r and extensions
      this.sizeLine = '';
      pos = lf + 1;
      if (Number.isNaN(size)) return this.finish('bad chunk size in the answer');
      if (size === 0) return this.finish(this.status === 200 ? 'response ended by the server' : `HTTP ${this.status} ${this.errorBody}`);
      this.chunkLeft = size;
    }
  }

  private feedBody(data: Buffer): void {
    if (this.status !== 200) {
      if (this.errorBody.length < ERROR_BODY_BYTES) this.errorBody += data.toString('utf8', 0, ERROR_BODY_BYTES);
      this.errorLeft -= data.length;
      if (this.errorLeft <= 0) this.finish(`HTTP ${this.status} ${this.errorBody}`);
      return;
    }
    let start = 0;
    for (;;) {
      const lf = data.indexOf(LF, start);
      if (lf === -1) break;
      if (this.partial === null) this.handlers.onLine(data.subarray(start, lf));
      else {
        const line = Buffer.concat([this.partial, data.subarray(start, lf)]);
        this.partial = null;
        this.handlers.onLine(line);
      }
      start = lf + 1;
      if (this.done) return;
    }
    if (start < data.length) this.partial = this.partial === null ? data.subarray(start) : Buffer.concat([this.partial, data.subarray(start)]);
  }
}
