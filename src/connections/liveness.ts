// One sweep per second over this node's connections (every subscriber kind) instead of a timer
// per socket: activity timeout → pusher:ping, no answer → 4201; slow consumers → 4100;
// authorized-connections mode; token expiry → 4203 (docs/PROTOCOL.md §14.2).
import { ErrorCode, ErrorMessage, PING } from '../../protocol/index.js';
import type { Connection } from '../hub/connection.js';
import type { SlowConsumers } from '../hub/slow-consumers.js';

export function sweep(connections: Iterable<Connection>, now: number, slowConsumers: SlowConsumers): void {
  for (const connection of connections) {
    const app = connection.app;
    if (app === undefined || connection.socket.isClosed) continue;
    if (slowConsumers.closeIfSlow(connection)) continue;
    if (connection.tokenExpiresAt !== 0 && now >= connection.tokenExpiresAt) {
      connection.fail(ErrorCode.TokenExpired, ErrorMessage.tokenExpired);
      continue;
    }
    if (connection.pingSentAt !== 0) {
      if (now - connection.pingSentAt >= app.pongTimeout * 1000) connection.fail(ErrorCode.PongNotReceived, ErrorMessage.pongNotReceived);
    } else if (now - connection.lastActivity >= app.activityTimeout * 1000) {
      connection.pingSentAt = now;
      connection.send(PING);
    }
    if (app.userAuthentication && connection.user === undefined && now - connection.openedAt >= app.userAuthenticationTimeout * 1000) {
      const authorized = [...connection.subscriptions.values()].some((s) => s.kind !== 'public');
      if (!authorized) connection.fail(ErrorCode.Unauthorized, ErrorMessage.notAuthorizedInTime);
    }
  }
}
