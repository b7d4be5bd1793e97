// One logical connection over whichever transport works: getToken() before every connect,
// reconnect with backoff after a drop (close codes as docs/PROTOCOL.md §1.4), and `auto`'s
// fallback from WebSocket to SSE to long-polling, remembering what opened.
import { Backoff, closeAction } from './backoff.js';
import { PollTransport } from './poll-transport.js';
import { rememberedTransport, rememberTransport } from './remembered.js';
import { SseTransport } from './sse-transport.js';
import type { ChannelRequest, Transport, TransportContext } from './transport.js';
import { BroadcastyError, type ConnectionState, type TransportName, type WebSocketConstructor } from './types.js';
import { errorOfStatus, type Frame } from './wire.js';
import { WsTransport } from './ws-transport.js';

const ORDER: readonly TransportName[] = ['ws', 'sse', 'poll'];
const TRANSPORTS: Record<TransportName, new (context: TransportContext) => Transport> = { ws: WsTransport, sse: SseTransport, poll: PollTransport };
/** A WebSocket that failed to open this many times in a row sends `auto` on to SSE. */
const WS_ATTEMPTS = 2;
/** A connection up this long counts as stable: the next drop starts the backoff over. */
const STABLE_MS = 10_000;

export interface ConnectionSettings {
  url: string;
  appKey: string;
  transport: 'auto' | TransportName;
  getToken: () => string | null | Promise<string | null>;
  fetch: typeof fetch;
  WebSocket: WebSocketConstructor | undefined;
  minDelayMs: number;
  maxDelayMs: number;
  sseIdleMs: number;
  pollTimeoutMs: number;
}

export interface ConnectionHost {
  channels(): ChannelRequest[];
  opened(): void;
  frame(frame: Frame): void;
  /** A refusal that named a channel: true when the channel table took it. */
  channelRefused(status: number, message: string, channel: string): boolean;
  state(state: ConnectionState): void;
  transport(name: TransportName): void;
  error(error: BroadcastyError): void;
  debug(message: string, fields?: Record<string, unknown>): void;
}

export class Connection {
  state: ConnectionState = 'idle';
  transportName: TransportName | undefined;
  private transport: Transport | undefined;
  private token: string | null = null;
  private tokenFetched = false;
  private wanted = false;
  /**
   * Bumped by connect() and disconnect(): an open() still awaiting getToken() across them is
   * stale and builds nothing, or a disconnect() then connect() would leave two transports open.
   */
  private generation = 0;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private readonly backoff: Backoff;
  private next: number;
  private wsFailures = 0;
  private openedAt = 0;
  /** A 401 on an SSE/poll open gets one reconnect with a fresh token before it counts as a failure. */
  private refreshedAfter401 = false;

  constructor(
    private readonly settings: ConnectionSettings,
    private readonly host: ConnectionHost,
  ) {
    this.backoff = new Backoff(settings.minDelayMs, settings.maxDelayMs);
    const start = settings.transport === 'auto' ? (rememberedTransport(settings.url, Date.now()) ?? 'ws') : settings.transport;
    this.next = ORDER.indexOf(start);
  }

  get online(): boolean {
    return this.state === 'connected';
  }

  connect(): void {
    if (this.wanted) return;
    this.wanted = true;
    this.generation += 1;
    void this.open();
  }

  disconnect(): void {
    this.wanted = false;
    this.generation += 1;
    clearTimeout(this.retry);
    this.transport?.close();
    this.transport = undefined;
    this.setState('closed');
  }

  /** The token of the current connection, or a fresh one (after a 401). */
  async currentToken(refresh: boolean): Promise<string | null> {
    if (refresh || !this.tokenFetched) await this.fetchToken();
    return this.token;
  }

  tokenNow(): string | null {
    return this.token;
  }

  subscribe(request: ChannelRequest): void {
    this.transport?.subscribe(request);
  }

  unsubscribe(channel: string): void {
    this.transport?.unsubscribe(channel);
  }

  private async open(): Promise<void> {
    const generation = this.generation;
    this.setState(this.state === 'idle' || this.state === 'closed' ? 'connecting' : 'reconnecting');
    try {
      await this.fetchToken();
    } catch (error) {
      if (generation !== this.generation) return;
      this.host.error(new BroadcastyError('unauthorized', `getToken() failed: ${error instanceof Error ? error.message : String(error)}`));
      return this.scheduleRetry('backoff');
    }
    if (!this.wanted || generation !== this.generation) return;
    const name = ORDER[this.next]!;
    const attempt = { transport: undefined as Transport | undefined };
    const own = () => this.wanted && this.transport === attempt.transport && attempt.transport !== undefined;
    const context: TransportContext = {
      url: this.settings.url.replace(/\/+$/, ''),
      appKey: this.settings.appKey,
      token: this.token,
      fetch: this.settings.fetch,
      WebSocket: this.settings.WebSocket,
      sseIdleMs: this.settings.sseIdleMs,
      pollTimeoutMs: this.settings.pollTimeoutMs,
      channels: () => this.host.channels(),
      debug: (message, fields) => this.host.debug(message, fields),
      events: {
        open: () => own() && this.opened(name),
        frame: (frame) => own() && this.host.frame(frame),
        refused: (status, message, channel) => own() && this.refused(status, message, channel),
        close: (code, reason, opened) => own() && this.closed(code, reason, opened),
      },
    };
    try {
      attempt.transport = this.transport = new TRANSPORTS[name](context);
    } catch (error) {
      this.host.error(new BroadcastyError('unsupported', error instanceof Error ? error.message : String(error)));
      return this.failedBeforeOpen(name);
    }
  }

  private async fetchToken(): Promise<void> {
    const generation = this.generation;
    const token = await this.settings.getToken();
    // Asked for before a disconnect(): it may be the previous user's, the newer answer stands.
    if (generation !== this.generation) return;
    this.token = token;
    this.tokenFetched = true;
  }

  private opened(name: TransportName): void {
    this.openedAt = Date.now();
    this.wsFailures = 0;
    this.refreshedAfter401 = false;
    if (this.settings.transport === 'auto') rememberTransport(this.settings.url, name, Date.now());
    if (this.transportName !== name) {
      this.transportName = name;
      this.host.transport(name);
    }
    this.setState('connected');
    this.host.opened();
  }

  private closed(code: number, reason: string, opened: boolean): void {
    this.transport = undefined;
    this.host.debug('connection closed', { code, reason });
    const action = closeAction(code);
    if (action === 'stop') {
      this.wanted = false;
      this.host.error(new BroadcastyError(code === 4001 ? 'unsupported' : 'forbidden', `the server closed the connection for good (${code}): ${reason}`));
      return this.setState('closed');
    }
    // At once only after a connection that was up: a server that refuses before open (draining: 4200) would otherwise be hammered.
    if (!opened) return this.failedBeforeOpen(ORDER[this.next]!);
    if (Date.now() - this.openedAt >= STABLE_MS) this.backoff.reset();
    this.scheduleRetry(action);
  }

  private refused(status: number, message: string, channel: string | undefined): void {
    if (channel !== undefined && this.host.channelRefused(status, message, channel)) return;
    const name = this.transport?.name ?? ORDER[this.next]!;
    this.transport?.close();
    this.transport = undefined;
    if (status === 401 && !this.refreshedAfter401) {
      this.refreshedAfter401 = true;
      return this.scheduleRetry('now');
    }
    this.host.error(errorOfStatus(status, `${name} connection refused (${status}): ${message}`));
    this.failedBeforeOpen(name);
  }

  /**
   * `auto` moves on: WebSocket after WS_ATTEMPTS failures, SSE and poll after one (back to
   * WebSocket after poll). The next transport is tried at once, but a full round (poll back to
   * WebSocket) waits the backoff, so a server refusing every transport is not hammered.
   */
  private failedBeforeOpen(name: TransportName): void {
    if (this.settings.transport === 'auto' && (name !== 'ws' || ++this.wsFailures >= WS_ATTEMPTS)) {
      this.wsFailures = 0;
      this.next = (this.next + 1) % ORDER.length;
      this.host.debug('auto transport falls back', { from: name, to: ORDER[this.next] });
      return this.scheduleRetry(this.next === 0 ? 'backoff' : 'now');
    }
    this.scheduleRetry('backoff');
  }

  private scheduleRetry(action: 'backoff' | 'now'): void {
    if (!this.wanted) return;
    this.setState('offline');
    clearTimeout(this.retry);
    this.retry = setTimeout(() => this.wanted && void this.open(), action === 'now' ? 0 : this.backoff.next());
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    this.host.state(state);
  }
}
