// Leased presence members of the Redis engine (docs/PROTOCOL.md §14.5): one zset of deadlines
// (Redis's clock) and the members' holds on the pseudo-node `~leases` (redis-keys.ts), changed by
// the same Lua change() as socket joins, so a socket and a lease of one user are one member.
// Leases belong to no node: there is no local answer while Redis is out of reach.
import { outOfReach } from './redis-broker.js';
import type { RedisPart } from './redis-history.js';
import { counter, decodeJoin, decodeMember, encodeMember, parsePresenceCounter, type JoinAnswer } from './redis-keys.js';
import type { ExpiredLease, PresenceJoin, PresenceLeases, PresenceMember, ReleasedLease } from './types.js';

const noLeases = async (): Promise<never> => outOfReach('presence leases');

export class RedisLeases implements PresenceLeases {
  constructor(private readonly redis: RedisPart) {}

  leaseMember(appId: string, channel: string, member: PresenceMember, ttlMs: number, maxMembers: number): Promise<PresenceJoin> {
    const field = counter.presence(appId, channel, member.userId);
    return this.redis.viaRedis(async () => decodeJoin((await this.redis.scripts.bcLease(this.redis.keys.prefix, field, encodeMember(member), ttlMs, maxMembers)) as JoinAnswer), noLeases);
  }

  renewLease(appId: string, channel: string, userId: string, ttlMs: number): Promise<boolean> {
    const field = counter.presence(appId, channel, userId);
    return this.redis.viaRedis(async () => (await this.redis.scripts.bcRenewLease(this.redis.keys.prefix, field, ttlMs)) === 1, noLeases);
  }

  releaseLease(appId: string, channel: string, userId: string): Promise<ReleasedLease | undefined> {
    const field = counter.presence(appId, channel, userId);
    return this.redis.viaRedis(async () => {
      const released = (await this.redis.scripts.bcReleaseLease(this.redis.keys.prefix, field)) as [] | [string, 0 | 1];
      return released.length === 0 ? undefined : { member: decodeMember(userId, released[0]), lastForUser: released[1] === 1 };
    }, noLeases);
  }

  expireLeases(limit: number): Promise<ExpiredLease[]> {
    return this.redis.viaRedis(async () => {
      const flat = (await this.redis.scripts.bcExpireLeases(this.redis.keys.prefix, limit)) as (string | number)[];
      const expired: ExpiredLease[] = [];
      for (let i = 0; i < flat.length; i += 3) {
        const { appId, channel, userId } = parsePresenceCounter(flat[i] as string);
        expired.push({ appId, channel, member: decodeMember(userId, flat[i + 1] as string), lastForUser: flat[i + 2] === 1 });
      }
      return expired;
    }, noLeases);
  }
}
