// What the publish pipeline tells the code that runs after every publish (docs/PROTOCOL.md §2.8,
// §2.10): webhooks' client_event, metrics and the debug log today; push for offline users, the
// debug console tap and audit register the same way.
import type { FramePosition } from '../../protocol/index.js';
import type { App } from '../apps/registry.js';
import type { Engine } from '../engine/types.js';

/** Whatever the engine answers a publish with: read in one place, PublishPipeline.deliver. */
export type Position = Awaited<ReturnType<Engine['publish']>>;

/**
 * channel → position, for the history channels of one published event (empty without any); HTTP
 * answers carry positions as frames do (docs/PROTOCOL.md §13.2, §13.4).
 */
export type PublishPositions = Record<string, FramePosition>;

/** Who published: the HTTP API (events and batch_events), a socket's client-* frame, or the admin API (counted as http). */
export type PublishSource = 'http' | 'client' | 'admin';

/** One event delivered to one channel. Hooks read it during `published` and keep nothing. */
export interface PublishedEvent {
  readonly app: App;
  readonly channel: string;
  readonly event: string;
  /** The data string as delivered (client_event webhooks carry it). */
  readonly data: string;
  /** UTF-8 bytes of `data`, measured once by the size check. */
  readonly dataBytes: number;
  readonly source: PublishSource;
  /** The sending socket id for client events, `app` for the HTTP API, `user:{sub}` for a JWT publish (§14.5). */
  readonly actor: string;
  /** The socket left out of the fan-out (the sender of a client event, or an HTTP socket_id). */
  readonly exceptSocketId: string | undefined;
  /** The sender's presence user id on client events in presence channels. */
  readonly userId: string | undefined;
  /** The encoded frame every subscriber got. */
  readonly frame: string;
  /** The channel's stream position after this publish. */
  readonly position: Position;
}

/** Registered at wiring time (server.ts). Runs synchronously after the engine took the publish: enqueue, never await. */
export interface AfterPublish {
  published(event: PublishedEvent): void;
}
