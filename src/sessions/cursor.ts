// Cursors (docs/PROTOCOL.md §15.4): the positions a session delivered, which the resume cursor an
// SSE stream puts in `id:` and a poll cursor carry. Their format is protocol/cursor.ts, shared
// with the client SDK.
import { formatCursor, formatPollCursor as pollCursor, type StreamPoint } from '../../protocol/cursor.js';
import type { DecodedFrame } from './event-frame.js';

export { MAX_CURSOR_ENTRIES, parseCursor, parsePollCursor, type PollCursor, type StreamPoint } from '../../protocol/cursor.js';

/** A poll answer's cursor: the session, how many frames it delivered, where its streams stand. */
export const formatPollCursor = (session: string, delivered: number, positions: StreamPositions): string => pollCursor(session, delivered, positions.cursor);

/**
 * The position of each history stream a session delivered, as frames leave it: the resume points
 * it started from, then subscription_succeeded's position for the streams it did not name, then
 * every event's own, and the current position a `broadcasty:resume_failed` reports.
 */
export class StreamPositions {
  private readonly points = new Map<string, StreamPoint>();
  private text: string | undefined = '';

  get size(): number {
    return this.points.size;
  }

  /** The resume cursor of everything delivered so far. */
  get cursor(): string {
    return (this.text ??= formatCursor(this.points.values()));
  }

  /** Where the client stood before anything was delivered (the streams its resume names). */
  startFrom(points: readonly StreamPoint[]): void {
    for (const p of points) this.set(p.channel, p.partition, p.epoch, p.offset);
  }

  delivered(frame: DecodedFrame): void {
    const { channel } = frame;
    if (channel === undefined) return;
    if (frame.event === 'pusher_internal:subscription_succeeded') {
      // A resumed stream is still at its resume point: the replay that follows moves it.
      for (const p of frame.positions ?? (frame.position === undefined ? [] : [frame.position])) {
        if (!this.points.has(keyOf(channel, p.partition ?? 0))) this.set(channel, p.partition ?? 0, p.epoch, p.offset);
      }
    } else if (frame.event === 'broadcasty:resume_failed') {
      const current = resumeFailedPosition(frame.data);
      if (current !== undefined) this.set(channel, current.partition ?? 0, current.epoch, current.offset);
    } else if (frame.position !== undefined) {
      this.set(channel, frame.position.partition ?? 0, frame.position.epoch, frame.position.offset);
    }
  }

  private set(channel: string, partition: number, epoch: string, offset: number): void {
    this.points.set(keyOf(channel, partition), { channel, partition, epoch, offset });
    this.text = undefined;
  }
}

const keyOf = (channel: string, partition: number) => `${channel}\u0000${partition}`;

/** resume_failed's data names the stream's current position (§13.3); sent to one session, parsed once. */
function resumeFailedPosition(data: unknown): { partition?: number; epoch: string; offset: number } | undefined {
  if (typeof data !== 'string') return undefined;
  try {
    const { offset, epoch, partition } = JSON.parse(data) as Record<string, unknown>;
    if (typeof offset !== 'number' || typeof epoch !== 'string') return undefined;
    return typeof partition === 'number' ? { partition, epoch, offset } : { epoch, offset };
  } catch {
    return undefined;
  }
}
