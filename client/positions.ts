// The last stream position the app saw, per history channel and partition (docs/PROTOCOL.md §13):
// what the next subscribe resumes from, and what tells a replayed duplicate from a new event.

/** A point in one channel stream: offsets compare only within one epoch. */
export interface StreamPosition {
  epoch: string;
  offset: number;
}

/** The `resume` field of `pusher:subscribe` (docs/PROTOCOL.md §13.3). */
export type ResumeData = StreamPosition | (StreamPosition & { partition: number })[];

interface ChannelStreams {
  /** Seen a `partition` field or a `positions` list: the resume goes as a list then. */
  partitioned: boolean;
  byPartition: Map<number, StreamPosition>;
}

export class PositionBook {
  private readonly channels = new Map<string, ChannelStreams>();

  /**
   * An event's position: false when the app already saw it (same epoch, offset not past the last
   * one), else it becomes the last position and the event is new.
   */
  advance(channel: string, partition: number | undefined, position: StreamPosition): boolean {
    const streams = this.streamsOf(channel, partition !== undefined);
    const last = streams.byPartition.get(partition ?? 0);
    if (last !== undefined && last.epoch === position.epoch && position.offset <= last.offset) return false;
    streams.byPartition.set(partition ?? 0, position);
    return true;
  }

  /**
   * The stream's current position from `subscription_succeeded`: where the app starts when it had
   * no position. A position it had is kept, whatever the epoch: the server answers it with a
   * replay or with `resume_failed` (then reset()), and if the socket drops before that answer the
   * next subscribe must name the old position again, or the app would never hear it was lost.
   */
  baseline(channel: string, partition: number | undefined, position: StreamPosition): void {
    const streams = this.streamsOf(channel, partition !== undefined);
    if (!streams.byPartition.has(partition ?? 0)) streams.byPartition.set(partition ?? 0, position);
  }

  /** The server could not resume (`broadcasty:resume_failed`): the app goes on from the position it named. */
  reset(channel: string, partition: number | undefined, position: StreamPosition): void {
    this.streamsOf(channel, partition !== undefined).byPartition.set(partition ?? 0, position);
  }

  forget(channel: string): void {
    this.channels.delete(channel);
  }

  resumeOf(channel: string): ResumeData | undefined {
    const streams = this.channels.get(channel);
    if (streams === undefined || streams.byPartition.size === 0) return undefined;
    if (streams.partitioned) return [...streams.byPartition].map(([partition, { epoch, offset }]) => ({ partition, epoch, offset }));
    const { epoch, offset } = streams.byPartition.get(0)!;
    return { epoch, offset };
  }

  private streamsOf(channel: string, partitioned: boolean): ChannelStreams {
    let streams = this.channels.get(channel);
    if (streams === undefined) this.channels.set(channel, (streams = { partitioned, byPartition: new Map() }));
    streams.partitioned ||= partitioned;
    return streams;
  }
}
