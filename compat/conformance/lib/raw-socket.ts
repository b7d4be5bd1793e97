// A raw Pusher-protocol WebSocket client on `ws`. The conformance cases need to see exact wire
// frames (pusher-js hides double encoding, key sets and in-band errors) and to send frames no real
// client sends (bad signatures, malformed JSON, protocol-level pings).
import WebSocket from 'ws';
import type { Target } from '../types.js';
import { signChannel, signUser } from './sign.js';

export interface Frame {
  event: string;
  channel?: string;
  /** As on the wire: a string (double-encoded JSON) or, for `pusher:error`, an object. */
  data?: unknown;
  user_id?: unknown;
  /** `data` decoded once more when it is a string holding JSON (what pusher-js does), else `data`. */
  payload: unknown;
  /** The whole parsed message, for exact-shape comparisons. */
  message: Record<string, unknown>;
  /** The text frame as received. */
  raw: string;
  /** Receive time, ms since the epoch. */
  at: number;
}

export interface CloseInfo {
  code: number;
  reason: string;
}

export interface ConnectOptions {
  /** App key in the URL (default target.key). */
  key?: string;
  /** Secret used by the signing helpers (default target.secret). */
  secret?: string;
  /** Query string without `?`, or params; default is what pusher-js 8 sends. */
  query?: string | Record<string, string>;
  /** Whole path instead of `{prefix}/app/{key}`. */
  path?: string;
  headers?: Record<string, string>;
  /** Answer protocol-level pings automatically (default true, like browsers and `ws`). */
  autoPong?: boolean;
  /** Port override (e.g. a second server on the same host). */
  port?: number;
}

export interface SubscribeOptions {
  /** Exact `auth` value; `null` leaves the member out. Default: signed for private/presence, `""` otherwise. */
  auth?: string | null;
  /** Exact channel_data string to send (and sign, for the default auth). */
  channelData?: string;
}

/** The server answered the upgrade request with a plain HTTP response instead of 101. */
export class UpgradeRefused extends Error {
  constructor(readonly status: number) {
    super(`upgrade refused with HTTP ${status}`);
  }
}

export const PUSHER_JS_QUERY = 'protocol=7&client=js&version=8.4.0&flash=false';

export function decodeFrame(raw: string): Frame {
  const message = JSON.parse(raw) as Record<string, unknown>;
  let payload = message.data;
  if (typeof payload === 'string') {
    try {
      payload = JSON.parse(payload);
    } catch {
      // pusher-js keeps a non-JSON string as it is; so do we.
    }
  }
  return { ...(message as Omit<Frame, 'payload' | 'message' | 'raw' | 'at'>), payload, message, raw, at: Date.now() };
}

type Waiter = { pred: (f: Frame) => boolean; resolve: (f: Frame) => void };

export class RawSocket {
  /** Every frame received, in order (never consumed): for "who received what" checks. */
  readonly received: Frame[] = [];
  /** Times (ms epoch) of protocol-level pings from the server. */
  readonly pings: number[] = [];
  socketId = '';
  activityTimeout = 0;
  closeInfo: CloseInfo | undefined;
  readonly closed: Promise<CloseInfo>;
  private readonly queue: Frame[] = [];
  private readonly waiters = new Set<Waiter>();
  private readonly onClose = new Set<() => void>();

  private constructor(
    readonly ws: WebSocket,
    readonly key: string,
    readonly secret: string,
  ) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let frame: Frame;
      try {
        frame = decodeFrame(data.toString());
      } catch {
        frame = { event: '(invalid JSON)', payload: undefined, message: {}, raw: data.toString(), at: Date.now() };
      }
      this.received.push(frame);
      for (const w of this.waiters) {
        if (w.pred(frame)) {
          this.waiters.delete(w);
          w.resolve(frame);
          return;
        }
      }
      this.queue.push(frame);
    });
    ws.on('ping', () => this.pings.push(Date.now()));
    ws.on('error', () => undefined); // surfaced through `closed` / `open` instead
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        for (const fn of this.onClose) fn();
        resolve(this.closeInfo);
      }),
    );
  }

  static url(target: Target, opts: ConnectOptions = {}): string {
    const key = opts.key ?? target.key;
    const path = opts.path ?? `${target.pathPrefix}/app/${key}`;
    const query = opts.query === undefined ? PUSHER_JS_QUERY : typeof opts.query === 'string' ? opts.query : new URLSearchParams(opts.query).toString();
    return `${target.tls ? 'wss' : 'ws'}://${target.host}:${opts.port ?? target.port}${path}${query ? `?${query}` : ''}`;
  }

  /** Resolves once the upgrade completed (no frame awaited); rejects with UpgradeRefused on a non-101 answer. */
  static open(target: Target, opts: ConnectOptions = {}): Promise<RawSocket> {
    const ws = new WebSocket(RawSocket.url(target, opts), { headers: opts.headers, autoPong: opts.autoPong ?? true, rejectUnauthorized: false });
    const socket = new RawSocket(ws, opts.key ?? target.key, opts.secret ?? target.secret);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(socket));
      ws.once('unexpected-response', (_req, res) => {
        reject(new UpgradeRefused(res.statusCode ?? 0));
        ws.terminate();
      });
      ws.once('error', (err) => reject(err));
    });
  }

  /** open() and wait for `pusher:connection_established` as the first frame. */
  static async connect(target: Target, opts: ConnectOptions = {}): Promise<RawSocket> {
    const socket = await RawSocket.open(target, opts);
    const first = await socket.next(undefined, 5000, 'connection_established');
    if (first.event !== 'pusher:connection_established') {
      socket.terminate();
      throw new Error(`first frame is not pusher:connection_established: ${first.raw}`);
    }
    const hello = first.payload as { socket_id?: string; activity_timeout?: number };
    socket.socketId = String(hello?.socket_id ?? '');
    socket.activityTimeout = Number(hello?.activity_timeout ?? 0);
    return socket;
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /**
   * The first unconsumed frame matching `pred` (any frame when omitted), waiting up to `timeoutMs`.
   * Non-matching frames stay queued for later calls. Rejects early if the socket closes.
   */
  next(pred: (f: Frame) => boolean = () => true, timeoutMs = 3000, what = 'matching frame'): Promise<Frame> {
    const i = this.queue.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.queue.splice(i, 1)[0]);
    return new Promise((resolve, reject) => {
      const finish = (fn: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        this.onClose.delete(closed);
        fn();
      };
      const waiter: Waiter = { pred, resolve: (f) => finish(() => resolve(f)) };
      const fail = (why: string) => finish(() => reject(new Error(`socket ${this.socketId || '(no id)'}: no ${what} ${why}; unconsumed: ${this.describeQueue()}`)));
      const closed = () => fail(`before close ${this.closeInfo?.code} ${JSON.stringify(this.closeInfo?.reason)}`);
      const timer = setTimeout(() => fail(`within ${timeoutMs} ms`), timeoutMs);
      this.waiters.add(waiter);
      if (this.closeInfo) closed();
      else this.onClose.add(closed);
    });
  }

  /** Fails if a frame matching `pred` (any frame by default) is queued or arrives within `ms`. */
  async expectNothing(ms: number, pred: (f: Frame) => boolean = () => true, what = 'unexpected frame'): Promise<void> {
    const early = this.queue.find(pred);
    if (early) throw new Error(`socket ${this.socketId}: ${what}: ${early.raw}`);
    const got = await this.next(pred, ms).then(
      (f) => f,
      () => undefined,
    );
    if (got) throw new Error(`socket ${this.socketId}: ${what}: ${got.raw}`);
  }

  /** Drops queued (unconsumed) frames matching `pred`; returns them. */
  discard(pred: (f: Frame) => boolean): Frame[] {
    const dropped = this.queue.filter(pred);
    for (const f of dropped) this.queue.splice(this.queue.indexOf(f), 1);
    return dropped;
  }

  /** Frames still unconsumed, for diagnostics. */
  describeQueue(): string {
    return this.queue.map((f) => f.raw).join(' | ').slice(0, 800) || '(none)';
  }

  /** Sends `pusher:subscribe` and returns the first reply: succeeded, subscription_error or pusher:error. */
  async subscribe(channel: string, opts: SubscribeOptions = {}): Promise<Frame> {
    const data: Record<string, unknown> = { channel };
    const auth = opts.auth === undefined ? this.defaultAuth(channel, opts.channelData) : opts.auth;
    if (auth !== null) data.auth = auth;
    if (opts.channelData !== undefined) data.channel_data = opts.channelData;
    this.send({ event: 'pusher:subscribe', data });
    return this.next(
      (f) => ((f.event === 'pusher_internal:subscription_succeeded' || f.event === 'pusher:subscription_error') && f.channel === channel) || f.event === 'pusher:error',
      3000,
      `subscribe reply for ${channel}`,
    );
  }

  /** subscribe() that must succeed; returns the subscription_succeeded frame. */
  async subscribeOk(channel: string, opts: SubscribeOptions = {}): Promise<Frame> {
    const reply = await this.subscribe(channel, opts);
    if (reply.event !== 'pusher_internal:subscription_succeeded') throw new Error(`subscribe ${channel} failed: ${reply.raw}`);
    return reply;
  }

  unsubscribe(channel: string): void {
    this.send({ event: 'pusher:unsubscribe', data: { channel } });
  }

  /** Sends `pusher:signin` (correctly signed unless `auth` is given) and returns signin_success or pusher:error. */
  signin(userData: string, auth = signUser(this.secret, this.key, this.socketId, userData)): Promise<Frame> {
    this.send({ event: 'pusher:signin', data: { auth, user_data: userData } });
    return this.next((f) => f.event === 'pusher:signin_success' || f.event === 'pusher:error', 3000, 'signin reply');
  }

  async signinOk(userData: string): Promise<Frame> {
    const reply = await this.signin(userData);
    if (reply.event !== 'pusher:signin_success') throw new Error(`signin failed: ${reply.raw}`);
    return reply;
  }

  /** Proves the connection is still usable: a `pusher:ping` must get a `pusher:pong`. */
  async assertAlive(what = 'connection'): Promise<void> {
    if (!this.isOpen) throw new Error(`${what} was closed: ${this.closeInfo?.code} ${JSON.stringify(this.closeInfo?.reason)}`);
    this.send({ event: 'pusher:ping', data: {} });
    await this.next((f) => f.event === 'pusher:pong', 3000, `pong proving the ${what} is alive`);
  }

  defaultAuth(channel: string, channelData?: string): string {
    return /^(private-|presence-)/.test(channel) ? signChannel(this.secret, this.key, this.socketId, channel, channelData) : '';
  }

  close(code = 1000): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(code);
    else this.terminate();
  }

  terminate(): void {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.terminate();
  }
}
