// History streams kept in process: LocalEngine's own, and RedisEngine's while Redis is out of
// reach. One lifetime rule for both engines: a stream lives until it has seen no publish for
// STREAM_IDLE_MS (Redis: EXPIRE on the stream keys), however its subscribers come and go; a
// stream that starts again gets a new epoch, as does every stream of a new process.
import { randomBytes } from 'node:crypto';
import type { HistoryEntry, HistoryRead, Retention, StreamPosition } from './types.js';

/** A channel's stream (position and history) expires after this long without a publish. */
export const STREAM_IDLE_MS = 86_400_000;
/** Expired streams are dropped at most this often, on a publish: no timer, one pass over the Map. */
const SWEEP_EVERY_MS = 60_000;

/**
 * The stream of one partition of a channel: the channel name for partition 0, `channel#p`
 * otherwise (channel names never contain '#'). Lua twin: stream_name in redis-keys.ts LUA_LAYOUT.
 */
export function streamName(channel: string, partition: number): string {
  return partition === 0 ? channel : `${channel}#${partition}`;
}

/**
 * One stream: its position and its stored frames, oldest first. Offsets are gap-free, so the
 * frame at index i (from `head`) has offset `first + i - head`; frames, their sizes and publish
 * times sit in parallel arrays (no object per event), and dropped ones are cut off in bulk once
 * they are half the array, so each event costs amortized O(1).
 */
export class LocalStream {
  offset = 0;
  readonly epoch = newEpoch();
  /** Last publish (or creation), ms. */
  at: number;
  private frames: string[] = [];
  private sizes: number[] = [];
  private times: number[] = [];
  private head = 0;
  /** Sum of the stored frames' sizes. */
  private bytes = 0;

  constructor(now: number) {
    this.at = now;
  }

  /** The position the next publish gets. */
  nextPosition(): StreamPosition {
    return { offset: this.offset + 1, epoch: this.epoch };
  }

  /** Stores the frame of the publish at nextPosition(), then applies the retention. */
  append(frame: string, now: number, retention: Retention): void {
    this.offset += 1;
    this.at = now;
    // UTF-8 bytes, as Redis counts them. Measuring also flattens the frame, concatenated from
    // pieces, into one string: that halves what a stored event costs (compat/bench/history-memory.ts).
    const size = Buffer.byteLength(frame);
    this.frames.push(frame);
    this.sizes.push(size);
    this.times.push(now);
    this.bytes += size;
    this.trim(now, retention);
  }

  /** Drops the oldest events while a retention limit is passed. */
  trim(now: number, retention: Retention): void {
    const cutoff = now - retention.maxAgeMs;
    while (
      this.head < this.frames.length &&
      (this.frames.length - this.head > retention.maxEvents || this.bytes > retention.maxBytes || this.times[this.head] < cutoff)
    ) {
      this.bytes -= this.sizes[this.head];
      this.head += 1;
    }
    if (this.head > 0 && this.head * 2 >= this.frames.length) {
      this.frames = this.frames.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
  }

  /** After trim(): the stored events from offset `from` on, oldest first, at most `limit`. */
  read(from: number, limit: number): HistoryRead {
    const stored = this.frames.length - this.head;
    const first = this.offset - stored + 1;
    const entries: HistoryEntry[] = [];
    for (let offset = Math.max(from, first); offset <= this.offset && entries.length < limit; offset += 1) {
      entries.push({ offset, frame: this.frames[this.head + offset - first] });
    }
    return { position: { offset: this.offset, epoch: this.epoch }, first, entries };
  }
}

export class LocalStreams {
  private readonly streams = new Map<string, LocalStream>();
  private sweptAt = 0;

  /** The stream `key`, created (with a new epoch) when missing or expired. */
  open(key: string, now: number): LocalStream {
    let stream = this.streams.get(key);
    if (stream === undefined || now - stream.at > STREAM_IDLE_MS) this.streams.set(key, (stream = new LocalStream(now)));
    if (now - this.sweptAt > SWEEP_EVERY_MS) this.sweep(now);
    return stream;
  }

  /** Forgets every stream: what follows is a new epoch everywhere (RedisEngine: a new outage). */
  restart(): void {
    this.streams.clear();
  }

  private sweep(now: number): void {
    this.sweptAt = now;
    for (const [key, stream] of this.streams) if (now - stream.at > STREAM_IDLE_MS) this.streams.delete(key);
  }
}

/** Random, so no restart of this process or of another one names the same run of offsets. */
function newEpoch(): string {
  return randomBytes(6).toString('base64url');
}
