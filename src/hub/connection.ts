// One client of any subscriber kind (WebSocket, HTTP stream, polling session, internal tap):
// identity, subscriptions, signed-in user, liveness and rate state, over a ClientSocket.
//
// Layering: src/hub/ sits below channels/ and publish/ (which import Connection and the hub's
// Membership from here) and above transport/types, apps, metrics and engine/types. It imports
// nothing from connections/, channels/, publish/ or api/: see docs/ARCHITECTURE.md "Layers".
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { closeReason, encodeError } from '../../protocol/index.js';
import type { App } from '../apps/registry.js';
import type { Principal } from '../auth/types.js';
import type { ChannelKind } from '../../protocol/channels.js';
import type { ClientSocket } from '../transport/types.js';
import type { AppMetrics } from '../metrics/metrics.js';

export interface Subscription {
  kind: ChannelKind;
  /** Set on presence channels: the member's id as a string and as sent in channel_data. */
  presence?: { userId: string; rawUserId: string | number };
  /** The JWT principal that authorized it (docs/PROTOCOL.md §14.2); its client events need permission. */
  principal?: Principal;
}

export interface SignedInUser {
  id: string;
  info: unknown;
  watchlist: string[];
}

const SOCKET_ID_MAX = 2 ** 31 - 1;

export function newSocketId(): string {
  return `${randomInt(1, SOCKET_ID_MAX)}.${randomInt(1, SOCKET_ID_MAX)}`;
}

/**
 * Milliseconds since this process started, as an integer: V8 keeps such fields inline (Smi)
 * where Date.now() values would each be a boxed heap number on every idle connection.
 */
export function clockMs(): number {
  return Math.trunc(performance.now());
}

const NO_SUBSCRIPTIONS: ReadonlyMap<string, Subscription> = new Map();

/** What a direct send consults after writing (slow-consumers.ts implements it). */
export interface BackpressureCheck {
  /** True when the connection was over the limit and is now closed with 4100. */
  closeIfSlow(connection: Connection): boolean;
}

export class Connection {
  readonly socketId = newSocketId();
  app: App | undefined;
  /** Set once the connection counted against an app's quota (also when then refused for it). */
  countedAppId: string | undefined;
  /** Bound once the handshake succeeded (see OpenConnection). */
  metrics: AppMetrics | undefined;
  /** Frames that arrive before connection_established was sent (app not yet resolved) wait here. */
  pending: string[] | undefined;
  /** Allocated on the first subscribe: most idle sockets never need a map. */
  private channels: Map<string, Subscription> | undefined;
  /** Channels being joined (guards duplicate concurrent subscribes); allocated on first use. */
  joining: Set<string> | undefined;
  user: SignedInUser | undefined;
  /** Who the connection signed in as with a JWT (pusher:signin or ?token=, docs/PROTOCOL.md §14.2). */
  principal: Principal | undefined;
  /** The earliest `exp` of the tokens it used, as a clockMs() value; 0 = none. The sweep closes it with 4203. */
  tokenExpiresAt = 0;
  /** clockMs() values. */
  lastActivity = clockMs();
  pingSentAt = 0;
  openedAt = this.lastActivity;
  clientEventWindowStart = 0;
  clientEventCount = 0;

  constructor(
    readonly socket: ClientSocket,
    private readonly slowConsumers: BackpressureCheck,
  ) {}

  /** The handshake's last step: from here on the app and its metrics are always set. */
  establish(app: App, metrics: AppMetrics): OpenConnection {
    this.app = app;
    this.metrics = metrics;
    return this as OpenConnection;
  }

  /**
   * Keeps the earliest expiry of the tokens this connection used. The token stays valid for the
   * app's clock skew past `exp` (docs/PROTOCOL.md §14.2), so the connection does too: closing at
   * `exp` itself would close a socket at once whose token was just accepted within the skew.
   */
  usedToken(principal: Principal): void {
    if (principal.expiresAtMs === undefined) return;
    const validUntil = principal.expiresAtMs + (this.app?.jwt.clockSkewSeconds ?? 0) * 1000;
    // At least 1: 0 means no token.
    const expiresAt = Math.max(1, clockMs() + Math.trunc(validUntil - Date.now()));
    if (this.tokenExpiresAt === 0 || expiresAt < this.tokenExpiresAt) this.tokenExpiresAt = expiresAt;
  }

  get subscriptions(): ReadonlyMap<string, Subscription> {
    return this.channels ?? NO_SUBSCRIPTIONS;
  }

  addSubscription(channel: string, subscription: Subscription): void {
    (this.channels ??= new Map()).set(channel, subscription);
  }

  removeSubscription(channel: string): void {
    this.channels?.delete(channel);
  }

  get closed(): boolean {
    return this.socket.isClosed;
  }

  /** Closes with 4100 instead when the socket already buffers more than the slow-consumer limit. */
  send(frame: string): void {
    if (this.slowConsumers.closeIfSlow(this)) return;
    if (this.socket.send(frame) && this.metrics !== undefined) {
      this.metrics.messagesOut.inc();
      this.metrics.bytesOut.inc(frame.length);
    }
  }

  /** In-band error: the socket stays open. */
  error(code: number | null, message: string, channel?: string): void {
    this.send(encodeError(code, message, channel));
  }

  /** Fatal error: pusher:error then Close with the same code (docs/PROTOCOL.md §1.4). */
  fail(code: number, message: string): void {
    if (this.socket.isClosed) return;
    this.socket.send(encodeError(code, message));
    this.socket.close(code, closeReason(message));
  }
}

/** A connection past the handshake: what frame handling, channels and publish work with. */
export interface OpenConnection extends Connection {
  app: App;
  metrics: AppMetrics;
}

export function isOpen(connection: Connection): connection is OpenConnection {
  return connection.app !== undefined;
}
