// Stream positions kept in process: LocalEngine's own, and RedisEngine's while Redis is out of
// reach. One lifetime rule for both engines: a channel's stream lives until it has seen no
// publish for STREAM_IDLE_MS (Redis: EXPIRE on the stream key), however its subscribers come
// and go; a stream that starts again gets a new epoch, as does every stream of a new process.
import { randomBytes } from 'node:crypto';
import type { StreamPosition } from './types.js';

/** A channel's stream (position and history) expires after this long without a publish. */
export const STREAM_IDLE_MS = 86_400_000;
/** Expired streams are dropped at most this often, on a publish: no timer, one pass over the Map. */
const SWEEP_EVERY_MS = 60_000;

interface Stream {
  offset: number;
  epoch: string;
  /** Last publish, ms. */
  at: number;
}

export class LocalStreams {
  private readonly streams = new Map<string, Stream>();
  private sweptAt = 0;

  /** The next position of the stream `key`, starting a new stream (and epoch) when it expired. */
  next(key: string, now: number): StreamPosition {
    let stream = this.streams.get(key);
    if (stream === undefined || now - stream.at > STREAM_IDLE_MS) this.streams.set(key, (stream = { offset: 0, epoch: newEpoch(), at: now }));
    stream.offset += 1;
    stream.at = now;
    if (now - this.sweptAt > SWEEP_EVERY_MS) this.sweep(now);
    return { offset: stream.offset, epoch: stream.epoch };
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
