// Token guards of the Redis engine (docs/PROTOCOL.md §14.6), cluster-wide: nonces (SET NX PX),
// revoked token ids (SET PXAT) and one-second hit windows (redis-scripts.ts bcCountHit); keys in
// redis-keys.ts. Nonces and revocations cannot be answered by one node alone, so while Redis is
// out of reach they refuse (503); a hit is counted on this node instead, so each node enforces
// a limit on its own meanwhile.
import { outOfReach } from './redis-broker.js';
import type { RedisPart } from './redis-history.js';
import type { TokenGuards } from './types.js';

const noGuards = async (): Promise<never> => outOfReach('nonces and revoked tokens');

export class RedisTokenGuards implements TokenGuards {
  constructor(private readonly redis: RedisPart) {}

  claimNonce(appId: string, userId: string, nonce: string, ttlMs: number): Promise<boolean> {
    // A nonce never holds ':' (§14.6), so the key's last segment is always the nonce.
    const key = this.redis.keys.app(appId, 'nonce', `${userId}:${nonce}`);
    // PX takes a positive integer only: anything else is a Redis error, which viaRedis takes for an outage.
    const px = Math.max(1, Math.ceil(ttlMs));
    return this.redis.viaRedis(async () => (await this.redis.cmd.set(key, '1', 'PX', px, 'NX')) === 'OK', noGuards);
  }

  async revokeToken(appId: string, jti: string, untilMs: number): Promise<void> {
    // A deadline already past refuses nothing: nothing to store (and PXAT 0 would be a Redis error, §14.6).
    if (untilMs <= Date.now()) return;
    return this.redis.viaRedis(async () => void (await this.redis.cmd.set(this.redis.keys.app(appId, 'revoked', jti), '1', 'PXAT', Math.ceil(untilMs))), noGuards);
  }

  isRevoked(appId: string, jti: string): Promise<boolean> {
    return this.redis.viaRedis(async () => (await this.redis.cmd.exists(this.redis.keys.app(appId, 'revoked', jti))) === 1, noGuards);
  }

  countHit(appId: string, bucket: string, nowMs: number): Promise<number> {
    const local = this.redis.local.countHit(appId, bucket, nowMs);
    return this.redis.viaRedis(async () => Number(await this.redis.scripts.bcCountHit(this.redis.keys.prefix, appId, bucket, Math.floor(nowMs / 1000))), () => local);
  }
}
