// The Pusher protocol over a WebSocket (docs/PROTOCOL.md §1–§2): `?token=` signs the connection
// in (§14.2), every channel is subscribed after `connection_established` with its resume
// position (§13.3), pings are answered, and a connection silent past `activity_timeout` gets a
// ping whose missing answer counts as a dropped network.
import { asFrame, dataRecord, redact } from './wire.js';
import { SDK_VERSION, type ChannelRequest, type Transport, type TransportContext } from './transport.js';
import type { WebSocketLike } from './types.js';

/** How long a ping may go unanswered, as pusher-js's pongTimeout. */
const PONG_TIMEOUT_MS = 30_000;
const CHECK_EVERY_MS = 1000;

export class WsTransport implements Transport {
  readonly name = 'ws' as const;
  private readonly socket: WebSocketLike;
  private opened = false;
  private finished = false;
  private activityMs = 120_000;
  private lastReceived = Date.now();
  private pingSentAt: number | undefined;
  private liveness: ReturnType<typeof setInterval> | undefined;
  /** The code of a connection-level `pusher:error` (it precedes the close frame, §1.4). */
  private errorCode: number | undefined;

  constructor(private readonly context: TransportContext) {
    const WebSocketClass = context.WebSocket;
    if (WebSocketClass === undefined) throw new Error('No WebSocket class: pass options.WebSocket (e.g. the `ws` package) on runtimes without a global WebSocket');
    const url = webSocketUrl(context);
    context.debug('ws connecting', { url: redact(url) });
    this.socket = new WebSocketClass(url);
    this.socket.onmessage = (event) => this.received(event.data);
    this.socket.onclose = (event) => this.finish(event.code, event.reason);
    // Some implementations report a refused connection by onerror alone.
    this.socket.onerror = () => queueMicrotask(() => this.finish(1006, 'WebSocket error'));
  }

  subscribe(request: ChannelRequest): void {
    if (this.opened) this.send({ event: 'pusher:subscribe', data: subscribeData(request) });
  }

  unsubscribe(channel: string): void {
    if (this.opened) this.send({ event: 'pusher:unsubscribe', data: { channel } });
  }

  close(): void {
    if (this.finished) return;
    this.finished = true;
    clearInterval(this.liveness);
    this.socket.onmessage = this.socket.onclose = null;
    // Closing a socket still connecting makes some implementations (the `ws` package) emit an error, which must find a listener.
    this.socket.onerror = () => undefined;
    try {
      this.socket.close(1000, 'Client closed');
    } catch {
      // Still connecting in some implementations: it is dropped either way.
    }
  }

  private received(raw: unknown): void {
    this.lastReceived = Date.now();
    this.pingSentAt = undefined;
    const frame = asFrame(typeof raw === 'string' ? raw : String(raw));
    if (frame === undefined) return;
    switch (frame.event) {
      case 'pusher:connection_established':
        return this.established(dataRecord(frame));
      case 'pusher:ping':
        return this.send({ event: 'pusher:pong', data: {} });
      case 'pusher:pong':
        return;
      case 'pusher:error':
        if (frame.channel === undefined) {
          const code = dataRecord(frame).code;
          if (typeof code === 'number' && code >= 4000) this.errorCode = code;
        }
    }
    this.context.events.frame(frame);
  }

  private established(data: Record<string, unknown>): void {
    if (typeof data.activity_timeout === 'number' && data.activity_timeout > 0) this.activityMs = Math.min(this.activityMs, data.activity_timeout * 1000);
    this.opened = true;
    this.liveness = setInterval(() => this.checkLiveness(), CHECK_EVERY_MS);
    this.context.events.open();
    for (const request of this.context.channels()) this.subscribe(request);
  }

  private checkLiveness(): void {
    const now = Date.now();
    if (this.pingSentAt !== undefined) {
      if (now - this.pingSentAt > PONG_TIMEOUT_MS) this.finish(1006, 'Pong reply not received');
    } else if (now - this.lastReceived > this.activityMs) {
      this.pingSentAt = now;
      this.send({ event: 'pusher:ping', data: {} });
    }
  }

  private send(frame: unknown): void {
    try {
      this.socket.send(JSON.stringify(frame));
    } catch (error) {
      this.context.debug('ws send failed', { error: String(error) });
    }
  }

  private finish(code: number, reason: string): void {
    if (this.finished) return;
    const opened = this.opened;
    this.close();
    // A close frame lost with the network still had its pusher:error in front (§1.4).
    const closeCode = code === 1006 && this.errorCode !== undefined ? this.errorCode : code;
    this.context.events.close(closeCode, reason, opened);
  }
}

function subscribeData({ channel, auth, resume }: ChannelRequest): Record<string, unknown> {
  return resume === undefined ? { auth, channel } : { auth, channel, resume };
}

export function webSocketUrl(context: TransportContext): string {
  const base = new URL(context.url);
  const scheme = base.protocol === 'https:' ? 'wss' : 'ws';
  const path = base.pathname.replace(/\/$/, '');
  const query = new URLSearchParams({ protocol: '7', client: 'broadcasty-js', version: SDK_VERSION });
  if (context.token !== null) query.set('token', context.token);
  return `${scheme}://${base.host}${path}/app/${encodeURIComponent(context.appKey)}?${query}`;
}
