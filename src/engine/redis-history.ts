// History streams and idempotency keys of the Redis engine (docs/PROTOCOL.md §13): scripts in
// redis-scripts.ts, keys in redis-keys.ts. While Redis is out of reach this node answers from its
// own LocalEngine (its own epoch, its own keys), as every other RedisEngine read does.
import type { Redis } from 'ioredis';
import type { LocalEngine } from './local.js';
import type { RedisKeys } from './redis-keys.js';
import type { Scripts } from './redis-scripts.js';
import { STREAM_IDLE_MS } from './streams.js';
import type { History, HistoryEntry, HistoryRead, IdempotencyClaim, IdempotencyKeys, Retention } from './types.js';

/** The cluster-wide answer, or this node's own while Redis is out of reach (RedisEngine.viaRedis). */
export type ViaRedis = <T>(shared: () => Promise<T>, local: () => Promise<T>) => Promise<T>;

/** What RedisEngine hands each of its parts (history, leases, token guards): built once, shared. */
export interface RedisPart {
  cmd: Redis;
  scripts: Scripts;
  keys: RedisKeys;
  local: LocalEngine;
  viaRedis: ViaRedis;
}

export class RedisHistory implements History, IdempotencyKeys {
  constructor(private readonly redis: RedisPart) {}

  async readHistory(appId: string, channel: string, partition: number, from: number, limit: number, retention: Retention): Promise<HistoryRead> {
    return this.redis.viaRedis(
      async () => {
        const args = [this.redis.keys.prefix, appId, channel, partition, from, limit, retention.maxEvents, retention.maxBytes, retention.maxAgeMs, STREAM_IDLE_MS / 1000];
        const [offset, epoch, first, flat] = (await this.redis.scripts.bcReadHistory(...args)) as [number, string, number, (number | string)[]];
        const entries: HistoryEntry[] = [];
        for (let i = 0; i < flat.length; i += 2) entries.push({ offset: flat[i] as number, frame: flat[i + 1] as string });
        return { position: { offset, epoch }, first, entries };
      },
      () => this.redis.local.readHistory(appId, channel, partition, from, limit, retention),
    );
  }

  async claimIdempotencyKey(appId: string, key: string, windowMs: number): Promise<IdempotencyClaim> {
    return this.redis.viaRedis(
      async () => {
        const [claimed, held] = (await this.redis.scripts.bcClaimIdempotencyKey(this.redis.keys.prefix, appId, key, windowMs)) as [1] | [0, string];
        if (claimed === 1) return { status: 'claimed' };
        return held === 'p' ? { status: 'pending' } : { status: 'done', answer: held };
      },
      () => this.redis.local.claimIdempotencyKey(appId, key, windowMs),
    );
  }

  async completeIdempotencyKey(appId: string, key: string, answer: string, windowMs: number): Promise<void> {
    await this.redis.viaRedis(
      async () => void (await this.redis.cmd.set(this.redis.keys.app(appId, 'idem', key), answer, 'PX', windowMs, 'XX')),
      () => this.redis.local.completeIdempotencyKey(appId, key, answer, windowMs),
    );
  }

  async releaseIdempotencyKey(appId: string, key: string): Promise<void> {
    await this.redis.viaRedis(
      async () => void (await this.redis.cmd.del(this.redis.keys.app(appId, 'idem', key))),
      () => this.redis.local.releaseIdempotencyKey(appId, key),
    );
  }
}
