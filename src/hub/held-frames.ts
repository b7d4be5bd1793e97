// Live frames held back for one connection on one channel while it replays the channel's history
// (docs/PROTOCOL.md §13.3): the hub appends what it delivers on the channel here instead of
// sending it, until the replay ends and the connection joins the live channel.
import type { Connection } from './connection.js';

export class HeldFrames {
  readonly frames: string[] = [];
  /** UTF-16 code units held: bounded like the socket's own buffer (maxBackpressureBytes). */
  length = 0;
  /** False once the hold ended: the connection went live, left the channel, closed or overflowed. */
  active = true;

  constructor(
    readonly appId: string,
    readonly channel: string,
    readonly topic: string,
    readonly connection: Connection,
  ) {}
}
