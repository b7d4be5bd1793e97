// What the SSE and poll kinds read of a frame: its event name, channel and stream position,
// decoded once per publish (frame-cache.ts); what a wire format builds from it (the SSE event
// block) is kept on the entry for the same reason.
import type { FramePosition } from '../../protocol/index.js';
import { frameCache } from './frame-cache.js';

export interface DecodedFrame {
  readonly event: string;
  readonly channel: string | undefined;
  /** The frame's own `data`: a string on events, an object on `pusher:error`. */
  readonly data: unknown;
  /** The top-level position fields (docs/PROTOCOL.md §13.2, §13.3): an event's, or subscription_succeeded's. */
  readonly position: FramePosition | undefined;
  /** subscription_succeeded on a partitioned history channel: one position per partition (§13.3). */
  readonly positions: readonly FramePosition[] | undefined;
  /** The SSE event block (`event:` and `data:` lines), built by the first SSE stream that sends the frame. */
  sse?: string;
}

/**
 * The frames decoded last, oldest first. One entry would do for streams, which take each frame as
 * it is delivered; held polls take theirs in batches, one session after the other in the same
 * turn (F1 F2 for one, then F1 F2 for the next), so a burst must still be there for the next.
 */
const RECENT = 64;

export const decodeFrame: (frame: string) => DecodedFrame = frameCache(RECENT, decode);

function decode(frame: string): DecodedFrame {
  let fields: Record<string, unknown>;
  try {
    fields = JSON.parse(frame) as Record<string, unknown>;
  } catch {
    // Every frame the server sends is JSON; one that is not reaches the client as `message` data.
    return { event: 'message', channel: undefined, data: undefined, position: undefined, positions: undefined };
  }
  return {
    event: typeof fields.event === 'string' ? fields.event : 'message',
    channel: typeof fields.channel === 'string' ? fields.channel : undefined,
    data: fields.data,
    position: positionOf(fields),
    positions: Array.isArray(fields.positions) ? fields.positions.map(positionOf).filter((p) => p !== undefined) : undefined,
  };
}

function positionOf(fields: unknown): FramePosition | undefined {
  if (typeof fields !== 'object' || fields === null) return undefined;
  const { offset, epoch, partition } = fields as Record<string, unknown>;
  if (typeof offset !== 'number' || typeof epoch !== 'string') return undefined;
  return typeof partition === 'number' ? { offset, epoch, partition } : { offset, epoch };
}
