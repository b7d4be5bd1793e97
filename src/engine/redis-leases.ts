// Leased presence members of the Redis engine (docs/PROTOCOL.md §14.5): one zset of deadlines
// (Redis's clock) and the members' holds on the pseudo-node `~leases` (redis-keys.ts), changed by
// the same Lua change() as socket joins, so a socket and a lease of one user are one member.
// Leases belong to no node: there is no local answer while Redis is out of reach.
import { outOfReach } from './redis-broker.js';
import type { ViaRedis } from './redis-history.js';
import { counter, decodeJoin, decodeMember, encodeMember, parsePresenceCounter, type JoinAnswer, type RedisKeys } from './redis-keys.js';
import type { Scripts } from './redis-scripts.js';
import type { ExpiredLease, PresenceJoin, PresenceLeases, PresenceMember, ReleasedLease } from './types.js';

const noLeases = async (): Promise<never> => outOfReach('presence leases');

export class RedisLeases implements PresenceLeases {
  constructor(
    private readonly scripts: Scripts,
    private readonly keys: RedisKeys,
    private readonly viaRedis: ViaRedis,
  ) {}

  leaseMember(appId: string, channel: string, member: PresenceMember, ttlMs: number, maxMembers: number): Promise<PresenceJoin> {
    const field = counter.presence(appId, channel, member.userId);
    return this.viaRedis(async () => decodeJoin((await this.scripts.bcLease(this.keys.prefix, field, encodeMember(member), ttlMs, maxMembers)) as JoinAnswer), noLeases);
  }

  renewLease(appId: string, channel: string, userId: string, ttlMs: number): Promise<boolean> {
    const field = counter.presence(appId, channel, userId);
    return this.viaRedis(async () => (await this.scripts.bcRenewLease(this.keys.prefix, field, ttlMs)) === 1, noLeases);
  }

  releaseLease(appId: string, channel: string, userId: string): Promise<ReleasedLease | undefined> {
    const field = counter.presence(appId, channel, userId);
    return this.viaRedis(async () => {
      const released = (await this.scripts.bcReleaseLease(this.keys.prefix, field)) as [] | [string, 0 | 1];
      return released.length === 0 ? undefined : { member: decodeMember(userId, released[0]), lastForUser: released[1] === 1 };
    }, noLeases);
  }

  expireLeases(limit: number): Promise<ExpiredLease[]> {
    return this.viaRedis(async () => {
      const flat = (await this.scripts.bcExpireLeases(this.keys.prefix, limit)) as (string | number)[];
      const expired: ExpiredLease[] = [];
      for (let i = 0; i < flat.length; i += 3) {
        const { appId, channel, userId } = parsePresenceCounter(flat[i] as string);
        expired.push({ appId, channel, member: decodeMember(userId, flat[i + 1] as string), lastForUser: flat[i + 2] === 1 });
      }
      return expired;
    }, noLeases);
  }
}
