// A connection joining a history channel (docs/PROTOCOL.md §13.3) gets the channel's live frames
// through here instead of the channel's topic, in two steps: while it replays the history they
// are held; after the replay each is passed through a filter that drops what the replay covered,
// until a frame proves that none of those can still arrive, and only then does the connection
// join the topic. (With Redis an event the replay read can reach this node's bus after the
// replay ended: the read and the bus are two connections. The bus keeps one order per channel,
// so once a newer event arrived, no older one follows.)
import type { Connection } from './connection.js';

/** What the replay covered. */
export interface LiveFilter {
  /** False for a frame the replay sent already. */
  keep(frame: string): boolean;
  /** True once every frame still to come is newer than the replay. */
  caughtUp(): boolean;
}

export class HeldFrames {
  /** Frames held during the replay. */
  readonly frames: string[] = [];
  /** UTF-16 code units held: bounded like the socket's own buffer (maxBackpressureBytes). */
  length = 0;
  /** Set once the replay ended: frames pass through it, no longer held. */
  filter: LiveFilter | undefined;
  /** False once the connection is in the topic, left the channel, closed or overflowed. */
  active = true;

  constructor(
    readonly appId: string,
    readonly channel: string,
    readonly topic: string,
    readonly connection: Connection,
  ) {}
}
