// Raw TCP for the attack phases: a WebSocket client that can put any bytes on the wire (unmasked
// frames, bad opcodes, lengths it never sends) and reads the server's frames itself, so it sees
// what `ws` would hide — a Close frame's exact code, or a connection dropped without one (1006).
// Memory stays small: a frame's payload is kept only when it is short enough to matter.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/** RFC 6455 §7.4.1: what a client reports when the TCP connection ends without a Close frame. */
export const ABNORMAL_CLOSURE = 1006;
const KEEP_TEXT_BYTES = 4096;

export interface ServerFrame {
  opcode: number;
  /** Text payload when the frame is a short text frame; '' otherwise. */
  text: string;
  length: number;
}

export interface FrameOptions {
  /** Default true: clients must mask (RFC 6455 §5.3). */
  mask?: boolean;
  fin?: boolean;
  rsv?: number;
  /** Announced length instead of the real one (oversize-length attacks). */
  announcedLength?: number | bigint;
}

/** One WebSocket frame as bytes; anything RFC 6455 forbids is available through the options. */
export function encodeFrame(opcode: number, payload: Buffer | string, opts: FrameOptions = {}): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const mask = opts.mask ?? true;
  const length = BigInt(opts.announcedLength ?? data.length);
  const head: number[] = [((opts.fin ?? true) ? 0x80 : 0) | ((opts.rsv ?? 0) << 4) | (opcode & 0x0f)];
  const maskBit = mask ? 0x80 : 0;
  let extended = Buffer.alloc(0);
  if (length < 126n) head.push(maskBit | Number(length));
  else if (length < 65536n) {
    head.push(maskBit | 126);
    extended = Buffer.alloc(2);
    extended.writeUInt16BE(Number(length));
  } else {
    head.push(maskBit | 127);
    extended = Buffer.alloc(8);
    extended.writeBigUInt64BE(length);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), extended, data]);
  const key = randomBytes(4);
  const masked = Buffer.allocUnsafe(data.length);
  for (let i = 0; i < data.length; i++) masked[i] = data[i] ^ key[i & 3];
  return Buffer.concat([Buffer.from(head), extended, key, masked]);
}

export const textFrame = (text: string | Buffer, opts?: FrameOptions) => encodeFrame(0x1, text, opts);

export function upgradeRequest(host: string, port: number, path: string, extraHeaders = ''): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
    `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n${extraHeaders}\r\n`
  );
}

export interface RawWsOptions {
  host: string;
  port: number;
  path: string;
  /** Raw header lines, each ending in \r\n. */
  headers?: string;
  /** Bytes written right after the upgrade request, before any answer (pre-handshake floods). */
  early?: Buffer;
  /** Called for every complete server frame. */
  onFrame?: (frame: ServerFrame) => void;
}

/**
 * A WebSocket connection over a bare TCP socket. `closed` resolves with the Close frame's code,
 * ABNORMAL_CLOSURE when the TCP connection ended without one, or the HTTP status (as a negative
 * number) when the upgrade was answered with something other than 101.
 */
export class RawWs {
  httpStatus = 0;
  closeCode: number | undefined;
  framesIn = 0;
  bytesIn = 0;
  readonly closed: Promise<number>;
  /** Resolves true once the 101 arrived, false if the upgrade was refused or the socket closed. */
  readonly upgradeAnswered: Promise<boolean>;
  private answerUpgrade!: (upgraded: boolean) => void;
  private buffer: Buffer = Buffer.alloc(0);
  private upgraded = false;
  private finish!: (code: number) => void;
  private readonly waiters = new Set<{ pred: (f: ServerFrame) => boolean; resolve: (f: ServerFrame | undefined) => void }>();

  private constructor(
    readonly socket: Socket,
    private readonly onFrame?: (frame: ServerFrame) => void,
  ) {
    this.closed = new Promise((resolve) => (this.finish = resolve));
    this.upgradeAnswered = new Promise((resolve) => (this.answerUpgrade = resolve));
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => this.end(this.closeCode ?? (this.upgraded ? ABNORMAL_CLOSURE : -this.httpStatus || ABNORMAL_CLOSURE)));
  }

  /** Connects and writes the upgrade request (plus `early` bytes); does not wait for the answer. */
  static open(opts: RawWsOptions): RawWs {
    const socket = connect(opts.port, opts.host);
    socket.setNoDelay(true);
    const ws = new RawWs(socket, opts.onFrame);
    socket.write(upgradeRequest(opts.host, opts.port, opts.path, opts.headers ?? ''));
    if (opts.early) socket.write(opts.early);
    return ws;
  }

  get isOpen(): boolean {
    return this.closeCode === undefined && !this.socket.destroyed;
  }

  write(bytes: Buffer): boolean {
    return this.isOpen ? this.socket.write(bytes) : false;
  }

  /** Writes and, when the kernel buffer is full, waits (at most `ms`) until it drains or the socket closes. */
  async writeAndDrain(bytes: Buffer, ms = 5000): Promise<void> {
    if (this.write(bytes) || !this.isOpen) return;
    let done!: () => void;
    const drained = new Promise<void>((resolve) => (done = resolve));
    const timer = setTimeout(done, ms);
    this.socket.once('drain', done);
    await Promise.race([drained, this.closed]);
    clearTimeout(timer);
    this.socket.off('drain', done);
  }

  /** The first frame (from now on) matching `pred`, or undefined after `ms` or at close. */
  next(pred: (f: ServerFrame) => boolean, ms: number): Promise<ServerFrame | undefined> {
    if (!this.isOpen) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const waiter = {
        pred,
        resolve: (f: ServerFrame | undefined) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(f);
        },
      };
      const timer = setTimeout(() => waiter.resolve(undefined), ms);
      this.waiters.add(waiter);
    });
  }

  /** Resolves with the close code, or undefined when still open after `ms`. */
  closedWithin(ms: number): Promise<number | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
    return Promise.race([this.closed, late]).finally(() => clearTimeout(timer));
  }

  destroy(): void {
    this.socket.destroy();
  }

  private end(code: number): void {
    this.closeCode ??= code;
    this.answerUpgrade(false);
    for (const w of [...this.waiters]) w.resolve(undefined);
    this.finish(code);
  }

  private receive(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    if (!this.upgraded) {
      const headEnd = this.buffer.indexOf('\r\n\r\n');
      if (headEnd < 0) {
        if (this.buffer.length > 65536) this.socket.destroy();
        return;
      }
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(this.buffer.subarray(0, 64).toString('latin1'));
      this.httpStatus = status ? Number(status[1]) : 0;
      if (this.httpStatus !== 101) {
        this.end(-this.httpStatus);
        this.socket.destroy();
        return;
      }
      this.upgraded = true;
      this.answerUpgrade(true);
      this.buffer = this.buffer.subarray(headEnd + 4);
    }
    this.parseFrames();
  }

  private parseFrames(): void {
    for (;;) {
      const b = this.buffer;
      if (b.length < 2) return;
      let length = b[1] & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (b.length < 4) return;
        length = b.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (b.length < 10) return;
        length = Number(b.readBigUInt64BE(2));
        offset = 10;
      }
      if (b.length < offset + length) return;
      const opcode = b[0] & 0x0f;
      const payload = b.subarray(offset, offset + length);
      this.buffer = b.subarray(offset + length);
      this.framesIn++;
      if (opcode === 0x8) {
        this.closeCode = length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.socket.destroy();
        this.end(this.closeCode);
        return;
      }
      const frame: ServerFrame = { opcode, length, text: opcode === 0x1 && length <= KEEP_TEXT_BYTES ? payload.toString('utf8') : '' };
      this.onFrame?.(frame);
      for (const w of this.waiters) {
        if (w.pred(frame)) {
          w.resolve(frame);
          break;
        }
      }
    }
  }
}

/** `{"event":"pusher:connection_established",...}` → the socket id, else undefined. */
export function socketIdOf(frame: ServerFrame): string | undefined {
  if (!frame.text.includes('pusher:connection_established')) return undefined;
  try {
    const message = JSON.parse(frame.text) as { data?: string };
    return (JSON.parse(message.data ?? '{}') as { socket_id?: string }).socket_id;
  } catch {
    return undefined;
  }
}

export const isEvent = (event: string) => (f: ServerFrame) => f.text.includes(`"event":"${event}"`);

/** Opens a RawWs and waits for connection_established; undefined when refused or too slow. */
export async function establish(opts: RawWsOptions, ms = 5000): Promise<{ ws: RawWs; socketId: string } | undefined> {
  const ws = RawWs.open(opts);
  const hello = await ws.next((f) => socketIdOf(f) !== undefined, ms);
  if (hello === undefined) {
    ws.destroy();
    return undefined;
  }
  return { ws, socketId: socketIdOf(hello)! };
}

/** Sends raw bytes (any HTTP, well-formed or not) and resolves with the answer's bytes as latin1. */
export function rawExchange(host: string, port: number, request: Buffer | string, quietMs = 300, maxMs = 5000): Promise<{ answer: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    let answer = '';
    let timedOut = false;
    let quiet = setTimeout(() => socket.destroy(), maxMs);
    const hard = setTimeout(() => {
      timedOut = answer === '';
      socket.destroy();
    }, maxMs);
    socket.on('data', (chunk: Buffer) => {
      if (answer.length < 65536) answer += chunk.toString('latin1');
      clearTimeout(quiet);
      quiet = setTimeout(() => socket.destroy(), quietMs);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(quiet);
      clearTimeout(hard);
      resolve({ answer, timedOut });
    });
    socket.write(request);
  });
}
