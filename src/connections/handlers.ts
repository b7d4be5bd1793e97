// Connection lifecycle for every subscriber kind a transport hands over (a WebSocket or any other
// ClientSocket): handshake checks (docs/PROTOCOL.md §1.2), the per-frame dispatcher, and cleanup.
import {
  connectionEstablished,
  ErrorCode,
  ErrorMessage,
  parseClientFrame,
  parseQuery,
  PONG,
} from '../../protocol/index.js';
import { socketRefused } from '../activity/auth-failures.js';
import type { App } from '../apps/registry.js';
import { originAllowed } from '../apps/origins.js';
import type { Subscriptions } from '../channels/subscriptions.js';
import { signin, signInAs } from '../channels/signin.js';
import { verifyJwt } from '../auth/jwt.js';
import type { TokenCheck } from '../auth/types.js';
import type { ServerContext } from '../context.js';
import { relayClientEvent } from '../publish/client-events.js';
import { clockMs, Connection, isOpen, type OpenConnection } from '../hub/connection.js';
import type { ClientSocket, SocketHandlers, UpgradeInfo } from '../transport/types.js';
import { MemoryGuard } from './memory-guard.js';

const SUPPORTED_PROTOCOLS = new Set(['4', '5', '6', '7']);

export function socketHandlers(ctx: ServerContext, subscriptions: Subscriptions): SocketHandlers<Connection> {
  const memory = new MemoryGuard(ctx.config.maxMemoryBytes, ctx.log);

  async function handshake(connection: Connection, info: UpgradeInfo): Promise<void> {
    if (ctx.draining) return connection.fail(ErrorCode.ReconnectImmediately, ErrorMessage.shuttingDown);
    if (info.atCapacity || ctx.hub.connections.size > ctx.socketLimit) return connection.fail(ErrorCode.OverCapacity, ErrorMessage.overCapacity);
    if (!memory.admits()) return connection.fail(ErrorCode.OverCapacity, ErrorMessage.overCapacity);
    const app = await ctx.registry.findByKey(info.appKey);
    if (connection.closed) return;
    if (app === undefined) return refuseConnection(connection, info, { code: ErrorCode.UnknownApp, message: ErrorMessage.unknownApp(info.appKey) });
    const refusal = refuse(app, info);
    if (refusal !== undefined) return refuseConnection(connection, info, refusal);
    const principal = await handshakePrincipal(app, info);
    if (connection.closed) return;
    if (principal !== undefined && !principal.ok) {
      socketRefused(ctx.activity, app, connection, 'connect', principal.message);
      return refuseConnection(connection, info, { code: ErrorCode.Unauthorized, message: principal.message });
    }
    const count = await ctx.engine.connectionOpened(app.id);
    connection.countedAppId = app.id;
    if (connection.closed) return;
    if (app.maxConnections !== null && count > app.maxConnections) {
      return connection.fail(ErrorCode.OverQuota, ErrorMessage.overQuota);
    }
    const open = connection.establish(app, ctx.metrics.forApp(app.id));
    open.metrics.connections.inc();
    open.metrics.opened.inc();
    open.send(connectionEstablished(open.socketId, open.app.activityTimeout));
    ctx.log.debug({ appId: open.app.id, socketId: open.socketId, origin: info.origin, remoteAddress: open.socket.remoteAddress }, 'connected');
    if (principal !== undefined) await signInAs(ctx, ctx.hub, open, principal.principal);
    const pending = open.pending;
    open.pending = undefined;
    for (const text of pending ?? []) dispatch(open, text);
  }

  /** `?token=` on the WebSocket URL signs in at connect (docs/PROTOCOL.md §14.2); ignored by `hmac` apps. */
  async function handshakePrincipal(app: App, info: UpgradeInfo): Promise<TokenCheck | undefined> {
    if (app.authMode === 'hmac') return undefined;
    const token = parseQuery(info.query).get('token');
    if (token === undefined) return undefined;
    const check = await verifyJwt(ctx.engine, app, token);
    return check.ok ? check : { ok: false, message: `Invalid token: ${check.message}` };
  }

  function refuseConnection(connection: Connection, info: UpgradeInfo, refusal: Refusal): void {
    ctx.log.debug({ appKey: info.appKey, origin: info.origin, code: refusal.code, reason: refusal.message }, 'connection refused');
    connection.fail(refusal.code, refusal.message);
  }

  /**
   * Frames sent before connection_established wait for the app lookup, bounded: pusher-js sends
   * nothing before it, so a flood is a misbehaving client, and it must not grow memory while the
   * registry or Redis is slow. Closed with 4100 (docs/PROTOCOL.md §1.4), not 4009: the queue overflows
   * because this node is slow to establish, and 4100 makes a real client back off 1 s and retry
   * where 4001-4099 would leave it disconnected for good.
   */
  function queueUntilEstablished(connection: Connection, text: string): void {
    const pending = (connection.pending ??= []);
    pending.push(text);
    let length = 0;
    for (const queued of pending) length += queued.length;
    if (pending.length > ctx.config.maxPendingFrames || length > ctx.config.maxPendingBytes) {
      connection.pending = undefined;
      connection.fail(ErrorCode.OverCapacity, ErrorMessage.tooManyEarlyFrames);
    }
  }

  function dispatch(connection: OpenConnection, text: string): void {
    const parsed = parseClientFrame(text);
    if (!parsed.ok) return connection.error(null, parsed.message);
    const frame = parsed.frame;
    let work: Promise<void> | undefined;
    switch (frame.event) {
      case 'pusher:ping':
        connection.send(PONG);
        return;
      case 'pusher:pong':
        return;
      case 'pusher:subscribe':
        work = subscriptions.subscribe(connection, frame.data);
        break;
      case 'pusher:unsubscribe':
        work = subscriptions.unsubscribe(connection, frame.data);
        break;
      case 'pusher:signin':
        work = signin(ctx, ctx.hub, connection, frame.data);
        break;
      default:
        if (frame.event.startsWith('client-')) work = relayClientEvent(ctx.pipeline, ctx.engine, connection, frame);
        else connection.error(null, `Unsupported event ${frame.event.slice(0, 100)}`);
    }
    work?.catch((error: unknown) => {
      ctx.log.error({ err: error, event: frame.event.slice(0, 100) }, 'frame handling failed');
      connection.error(null, 'Internal error handling the message');
    });
  }

  return {
    open(socket: ClientSocket, info: UpgradeInfo): Connection {
      const connection = new Connection(socket, ctx.hub.slowConsumers);
      ctx.hub.add(connection);
      handshake(connection, info).catch((error: unknown) => {
        ctx.log.error({ err: error }, 'handshake failed');
        if (!connection.closed) connection.fail(ErrorCode.OverCapacity, ErrorMessage.overCapacity);
      });
      return connection;
    },
    message(connection, text) {
      connection.lastActivity = clockMs();
      if (connection.metrics !== undefined) {
        connection.metrics.messagesIn.inc();
        connection.metrics.bytesIn.inc(text.length);
      }
      connection.pingSentAt = 0;
      if (connection.closed) return;
      if (text.length > ctx.config.maxMessageBytes) {
        connection.error(null, `Message too large: at most ${ctx.config.maxMessageBytes} bytes`);
        return;
      }
      if (isOpen(connection)) dispatch(connection, text);
      else queueUntilEstablished(connection, text);
    },
    activity(connection) {
      connection.lastActivity = clockMs();
      connection.pingSentAt = 0;
    },
    drain() {},
    close(connection, code) {
      ctx.hub.remove(connection);
      ctx.log.debug({ appId: connection.app?.id, socketId: connection.socketId, code }, 'closed');
      const cleanup: Promise<unknown>[] = [];
      if (isOpen(connection)) {
        ctx.metrics.connectionClosed(connection.app.id, code);
        cleanup.push(subscriptions.leaveAll(connection));
        if (connection.user !== undefined) cleanup.push(ctx.engine.removeUserSocket(connection.app.id, connection.user.id, connection.socketId));
      }
      if (connection.countedAppId !== undefined) cleanup.push(ctx.engine.connectionClosed(connection.countedAppId));
      Promise.all(cleanup).catch((error: unknown) => ctx.log.error({ err: error }, 'connection cleanup failed'));
    },
  };
}

interface Refusal {
  code: number;
  message: string;
}

function refuse(app: App, info: UpgradeInfo): Refusal | undefined {
  if (!app.enabled) return { code: ErrorCode.AppDisabled, message: ErrorMessage.appDisabled };
  if (app.tlsOnly && !info.tls) return { code: ErrorCode.TlsOnly, message: ErrorMessage.tlsOnly };
  const protocol = parseQuery(info.query).get('protocol');
  if (protocol !== undefined && !SUPPORTED_PROTOCOLS.has(protocol)) {
    return { code: ErrorCode.UnsupportedProtocol, message: ErrorMessage.unsupportedProtocol };
  }
  if (!originAllowed(app.allowedOrigins, info.origin)) return { code: ErrorCode.Unauthorized, message: ErrorMessage.originNotAllowed };
  return undefined;
}
