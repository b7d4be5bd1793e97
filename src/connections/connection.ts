// One client socket: identity, subscriptions, signed-in user, liveness and rate state.
import { randomInt } from 'node:crypto';
import { closeReason, encodeError } from '../../protocol/index.js';
import type { App } from '../apps/registry.js';
import type { ChannelKind } from '../../protocol/channels.js';
import type { Socket } from '../transport/types.js';
import type { AppMetrics } from '../metrics/metrics.js';

export interface Subscription {
  kind: ChannelKind;
  /** Set on presence channels: the member's id as a string and as sent in channel_data. */
  presence?: { userId: string; rawUserId: string | number };
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

export class Connection {
  readonly socketId = newSocketId();
  app: App | undefined;
  /** Set once the connection counted against an app's quota (also when then refused for it). */
  countedAppId: string | undefined;
  /** Bound once the handshake succeeded. */
  metrics: AppMetrics | undefined;
  /** Frames that arrive before connection_established was sent (app not yet resolved) wait here. */
  pending: string[] | undefined;
  readonly subscriptions = new Map<string, Subscription>();
  /** Channels being joined (guards duplicate concurrent subscribes); allocated on first use. */
  joining: Set<string> | undefined;
  user: SignedInUser | undefined;
  lastActivity = Date.now();
  pingSentAt = 0;
  openedAt = Date.now();
  clientEventWindowStart = 0;
  clientEventCount = 0;

  constructor(readonly socket: Socket) {}

  get closed(): boolean {
    return this.socket.isClosed;
  }

  send(frame: string): void {
    if (this.socket.send(frame) && this.metrics !== undefined) {
      this.metrics.messagesOut.inc();
      this.metrics.bytesOut.inc(frame.length);
    }
  }

  /** In-band error: the socket stays open. */
  error(code: number | null, message: string, channel?: string): void {
    this.send(encodeError(code, message, channel));
  }

  /** Fatal error: pusher:error then Close with the same code (PROTOCOL.md §1.4). */
  fail(code: number, message: string): void {
    if (this.socket.isClosed) return;
    this.socket.send(encodeError(code, message));
    this.socket.close(code, closeReason(message));
  }
}
