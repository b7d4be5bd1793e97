// Subscribing to a history channel (docs/PROTOCOL.md §13.3): subscription_succeeded says where
// each partition's stream stands, a `resume` gets every stored event after the client's offset,
// then live ones, with no gap and no duplicate. The caller holds the channel's live frames
// (Membership.hold) before read() looks at the streams, so every event published after that
// look is held; the replay sends what the client misses up to it, and as a LiveFilter this
// drops the held and late frames the replay already covered (hub/held-frames.ts).
import { ErrorCode, positionOfFrame, resumeFailed, type FramePosition, type ResumeData, type ResumeFailure } from '../../protocol/index.js';
import type { History, HistoryRead, StreamPosition } from '../engine/types.js';
import type { HistorySpec } from '../history/rules.js';
import type { OpenConnection } from '../hub/connection.js';
import type { HeldFrames, LiveFilter } from '../hub/held-frames.js';
import type { Membership } from '../hub/hub.js';
import type { Logger } from '../logger.js';

/** Events read per history round trip while replaying. */
const REPLAY_PAGE = 200;

/** Where a client stood in one partition. */
export interface ResumePoint {
  partition: number;
  epoch: string;
  offset: number;
}

/**
 * A subscribe's resume points, at most one per partition, or a message naming the field that does
 * not fit the channel (the shape was checked by protocol/frames.ts resumeData).
 */
export function resumePoints(resume: ResumeData, spec: HistorySpec): ResumePoint[] | string {
  if (!Array.isArray(resume)) return [{ partition: 0, epoch: resume.epoch, offset: resume.offset }];
  const seen = new Set<number>();
  for (const [i, point] of resume.entries()) {
    if (point.partition >= spec.partitions) return `data.resume.${i}.partition must be less than ${spec.partitions}, the channel's partitions`;
    if (seen.has(point.partition)) return `data.resume.${i}.partition repeats partition ${point.partition}`;
    seen.add(point.partition);
  }
  return resume;
}

/** One partition: where its stream stood at the first read, and the last event the client has. */
interface Partition {
  index: number;
  read: HistoryRead;
  point: ResumePoint | undefined;
  /** The stream's epoch as this subscribe knows it; held frames of another epoch are all new. */
  epoch: string;
  /** Offset of the last event the client has: replayed, or had already. */
  sent: number;
  /** A newer frame arrived: no frame the replay covered can follow it. */
  passed: boolean;
}

export class HistoryCatchUp implements LiveFilter {
  private constructor(
    private readonly history: History,
    private readonly appId: string,
    private readonly channel: string,
    private readonly spec: HistorySpec,
    private readonly partitions: Partition[],
  ) {}

  /**
   * Reads every partition's position, and the first page of each one to resume. Call it once the
   * channel's live frames are held.
   */
  static async read(history: History, appId: string, channel: string, spec: HistorySpec, points: ResumePoint[] | undefined): Promise<HistoryCatchUp> {
    const partitions = await Promise.all(
      Array.from({ length: spec.partitions }, async (_, index): Promise<Partition> => {
        const point = points?.find((p) => p.partition === index);
        // Without a resume point only the position is wanted: a read of no entries.
        const read = await history.readHistory(appId, channel, index, (point?.offset ?? 0) + 1, point === undefined ? 0 : REPLAY_PAGE, spec.retention);
        return { index, read, point, epoch: read.position.epoch, sent: read.position.offset, passed: false };
      }),
    );
    return new HistoryCatchUp(history, appId, channel, spec, partitions);
  }

  /** What subscription_succeeded carries. */
  get positions(): FramePosition[] {
    return this.partitions.map((p) => this.wire(p.index, p.read.position));
  }

  /**
   * Replays each partition to resume (or says it cannot), then goes live with this as the
   * filter that drops the held and late frames the replay covered. A read that fails half way
   * closes the connection with 4200: the client reconnects and resumes from what it got, where
   * skipping would be a gap.
   */
  async finish(connection: OpenConnection, held: HeldFrames, membership: Membership, log: Logger): Promise<void> {
    try {
      for (const partition of this.partitions) {
        if (!held.active) return;
        if (partition.point !== undefined) await this.replay(connection, held, partition, partition.point);
      }
      if (!held.active) return;
    } catch (error) {
      log.error({ err: error, appId: this.appId, channel: this.channel, socketId: connection.socketId }, 'history replay failed');
      membership.release(held);
      connection.fail(ErrorCode.ReconnectImmediately, 'History could not be read: reconnect and resume');
      return;
    }
    membership.goLive(held, this);
  }

  keep(frame: string): boolean {
    const position = positionOfFrame(frame);
    if (position === undefined) return true;
    const partition = this.partitions[position.partition ?? 0];
    if (partition === undefined) return true;
    if (position.epoch === partition.epoch && position.offset <= partition.sent) return false;
    partition.passed = true;
    return true;
  }

  caughtUp(): boolean {
    return this.partitions.every((p) => p.passed);
  }

  private async replay(connection: OpenConnection, held: HeldFrames, partition: Partition, point: ResumePoint): Promise<void> {
    let read = partition.read;
    const { position } = read;
    const refusal: ResumeFailure | undefined =
      point.epoch !== position.epoch ? 'epoch_changed' : point.offset > position.offset ? 'ahead' : read.first > point.offset + 1 ? 'trimmed' : undefined;
    if (refusal !== undefined) return this.fail(connection, partition, refusal, position);
    // Up to the position of the first read: what was published after it is held.
    const until = position.offset;
    let sent = point.offset;
    for (;;) {
      for (const entry of read.entries) {
        // Retention dropped events while the replay was reading its pages.
        if (entry.offset !== sent + 1) return this.fail(connection, partition, 'trimmed', read.position);
        connection.send(entry.frame);
        sent = entry.offset;
      }
      partition.sent = sent;
      if (sent >= until) return;
      if (read.entries.length === 0) return this.fail(connection, partition, 'trimmed', read.position);
      read = await this.history.readHistory(this.appId, this.channel, partition.index, sent + 1, REPLAY_PAGE, this.spec.retention);
      if (!held.active) return;
      // The stream was lost mid-replay, or this page came from the engine's local fallback while
      // Redis is out of reach: either way what was replayed cannot be matched against what
      // follows. Reconnecting (4200) starts over with one consistent read.
      if (read.position.epoch !== partition.epoch) throw new Error(`the stream's epoch changed during the replay (${partition.epoch} → ${read.position.epoch})`);
    }
  }

  /** The client continues from the stream's current position: held frames up to it are dropped. */
  private fail(connection: OpenConnection, partition: Partition, reason: ResumeFailure, current: StreamPosition): void {
    partition.epoch = current.epoch;
    partition.sent = current.offset;
    connection.send(resumeFailed(this.channel, reason, this.wire(partition.index, current)));
  }

  private wire(index: number, position: StreamPosition): FramePosition {
    return this.spec.partitions > 1 ? { partition: index, offset: position.offset, epoch: position.epoch } : { offset: position.offset, epoch: position.epoch };
  }
}
