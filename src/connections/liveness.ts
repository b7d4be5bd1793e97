// One sweep per second over this node's connections (every subscriber kind) instead of a timer
// per socket: activity timeout → pusher:ping, no answer → 4201; slow consumers → 4100;
// authorized-connections mode. The second is cut into slices, so no single tick holds up
// deliveries for a pass over every socket (at 10k sockets one whole pass took 2-4 ms).
import { ErrorCode, ErrorMessage, PING } from '../../protocol/index.js';
import type { Connection } from '../hub/connection.js';
import type { SlowConsumers } from '../hub/slow-consumers.js';

/** Ticks per pass: every connection is still checked about once a second. */
export const SWEEP_SLICES = 10;

export class LivenessSweep {
  /** Map iterators are live: connections added during a pass are reached, removed ones skipped. */
  private cursor: Iterator<Connection> | undefined;

  constructor(
    private readonly connections: Map<string, Connection>,
    private readonly slowConsumers: SlowConsumers,
  ) {}

  /** Checks the next 1/SWEEP_SLICES of the connections. */
  tick(now: number): void {
    for (let budget = Math.ceil(this.connections.size / SWEEP_SLICES); budget > 0; budget--) {
      this.cursor ??= this.connections.values();
      const next = this.cursor.next();
      if (next.done === true) {
        this.cursor = undefined;
        return;
      }
      check(next.value, now, this.slowConsumers);
    }
  }
}

function check(connection: Connection, now: number, slowConsumers: SlowConsumers): void {
  const app = connection.app;
  if (app === undefined || connection.socket.isClosed) return;
  if (slowConsumers.closeIfSlow(connection)) return;
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
