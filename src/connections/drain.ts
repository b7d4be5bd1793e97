// The SIGTERM drain: every socket is closed with 4200 (pusher-js reconnects at once), spread
// over a window instead of all in one instant, so a node's clients do not land on the remaining
// nodes (and their auth endpoint) in one burst. One loop of ticks, no timer per socket.
import { ErrorCode, ErrorMessage } from '../../protocol/index.js';
import type { Connection } from '../hub/connection.js';

const DRAIN_TICK_MS = 50;

export async function closeGradually(connections: Map<unknown, Connection>, spreadMs: number): Promise<void> {
  const ticks = Math.max(1, Math.floor(spreadMs / DRAIN_TICK_MS));
  for (let tick = 0; tick < ticks && connections.size > 0; tick++) {
    const open = [...connections.values()];
    // The last tick's share is everything left, whatever closed meanwhile.
    const share = Math.ceil(open.length / (ticks - tick));
    for (const connection of open.slice(0, share)) connection.fail(ErrorCode.ReconnectImmediately, ErrorMessage.shuttingDown);
    if (connections.size > 0 && tick < ticks - 1) await new Promise((resolve) => setTimeout(resolve, DRAIN_TICK_MS));
  }
}
