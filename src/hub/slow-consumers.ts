// Slow consumers, for every subscriber kind: Connection.send and the hub's fan-out use it, so it
// sits in hub/ below them; the liveness sweep (connections/liveness.ts) calls it too.
import { ErrorCode, ErrorMessage } from '../../protocol/index.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { BackpressureCheck, Connection } from './connection.js';

/**
 * uWS's own limit, as a multiple of maxBackpressureBytes. Past it uWS drops frames and cuts the
 * socket without a Close frame (the client sees 1006); below it our check closes with 4100, which
 * pusher-js answers by reconnecting after 1 s.
 */
export const HARD_BACKPRESSURE_FACTOR = 8;

/**
 * Closes sockets that buffer more than maxBackpressureBytes with 4100 (docs/PROTOCOL.md §1.4). Direct
 * sends check their socket; fan-out (uWS topics in C++, or the hub's loop over other kinds) checks
 * no one per frame, so the hub counts what it publishes and sweeps every socket once that could
 * have moved any socket from under the limit to half way to uWS's cap: the 4100 Close frame is
 * then always still accepted.
 */
export class SlowConsumers implements BackpressureCheck {
  /** Published bytes after which every socket is checked. */
  readonly sweepEveryBytes: number;

  constructor(
    readonly maxBackpressureBytes: number,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.sweepEveryBytes = (maxBackpressureBytes * HARD_BACKPRESSURE_FACTOR) / 2;
  }

  /** True when the socket was over the limit and is now closed. */
  closeIfSlow(connection: Connection): boolean {
    if (connection.socket.bufferedBytes() <= this.maxBackpressureBytes) return false;
    this.close(connection);
    return true;
  }

  /** Closes with 4100: its socket, or the frames held for it during a history replay, passed the limit. */
  close(connection: Connection): void {
    const appId = connection.app?.id ?? '';
    this.metrics.slowConsumers.labels(appId).inc();
    this.log.warn({ socketId: connection.socketId, appId }, 'slow consumer closed with 4100');
    connection.fail(ErrorCode.OverCapacity, ErrorMessage.slowConsumer);
  }

  sweep(connections: Iterable<Connection>): void {
    for (const connection of connections) if (!connection.socket.isClosed) this.closeIfSlow(connection);
  }
}
