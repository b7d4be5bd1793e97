// Single-process engine: all state in Maps, delivery straight into the local hub. The Redis
// engine also keeps one as the record of what its own node holds (see snapshot()).
import { LocalIdempotencyKeys } from './idempotency.js';
import { LocalStreams, streamName } from './streams.js';
import { LocalTokenGuards } from './token-guards.js';
import {
  positionFields,
  UNSEQUENCED,
  type CachedEvent,
  type Engine,
  type ExpiredLease,
  type HistoryRead,
  type IdempotencyClaim,
  type LocalDelivery,
  type PresenceJoin,
  type PresenceMember,
  type Publication,
  type ReleasedLease,
  type Retention,
  type StreamPosition,
} from './types.js';

const key = (appId: string, name: string) => `${appId}\u0000${name}`;
const split = (k: string): [appId: string, name: string] => {
  const at = k.indexOf('\u0000');
  return [k.slice(0, at), k.slice(at + 1)];
};

/** Everything this process holds, as counts: what a node contributes to cluster-wide state. */
export interface LocalSnapshot {
  subscriptions: { appId: string; channel: string; count: number }[];
  presence: { appId: string; channel: string; member: PresenceMember; count: number }[];
  users: { appId: string; userId: string; count: number }[];
  connections: { appId: string; count: number }[];
}

const FULL: PresenceJoin = Object.freeze({ status: 'full' });

/** A presence member joined over HTTP (docs/PROTOCOL.md §14.5): held until its deadline. */
interface Lease {
  appId: string;
  channel: string;
  userId: string;
  /** Epoch ms. */
  deadline: number;
}

interface RosterEntry {
  member: PresenceMember;
  sockets: Set<string>;
  lease?: Lease;
}

interface Roster {
  /** userId → member and what holds it in the channel: its sockets and its lease; gone with the last of them. */
  members: Map<string, RosterEntry>;
}

export class LocalEngine implements Engine {
  private delivery!: LocalDelivery;
  private readonly subscriptions = new Map<string, Set<string>>();
  private readonly rosters = new Map<string, Roster>();
  private readonly userSockets = new Map<string, Set<string>>();
  private readonly streams = new LocalStreams();
  private readonly idempotencyKeys = new LocalIdempotencyKeys();
  private readonly cache = new Map<string, { event: string; data: string; expiresAt: number }>();
  private readonly connections = new Map<string, number>();
  private readonly leases = new Set<Lease>();
  private readonly guards = new LocalTokenGuards();

  async start(delivery: LocalDelivery): Promise<void> {
    this.delivery = delivery;
  }

  async stop(): Promise<void> {}

  health(): 'ok' {
    return 'ok';
  }

  async publish(p: Publication): Promise<StreamPosition> {
    if (p.stream === undefined) {
      this.delivery.deliver(p.appId, p.channel, p.frame, p.exceptSocketId);
      return UNSEQUENCED;
    }
    const now = Date.now();
    const stream = this.streams.open(key(p.appId, streamName(p.channel, p.stream.partition)), now);
    const position = stream.nextPosition();
    const frame = p.frame + positionFields(position, p.stream);
    stream.append(frame, now, p.stream.retention);
    this.delivery.deliver(p.appId, p.channel, frame, p.exceptSocketId);
    return position;
  }

  async readHistory(appId: string, channel: string, partition: number, from: number, limit: number, retention: Retention): Promise<HistoryRead> {
    const now = Date.now();
    const stream = this.streams.open(key(appId, streamName(channel, partition)), now);
    stream.trim(now, retention);
    return stream.read(from, limit);
  }

  async claimIdempotencyKey(appId: string, idempotencyKey: string, windowMs: number): Promise<IdempotencyClaim> {
    return this.idempotencyKeys.claim(key(appId, idempotencyKey), windowMs, Date.now());
  }

  async completeIdempotencyKey(appId: string, idempotencyKey: string, answer: string, windowMs: number): Promise<void> {
    this.idempotencyKeys.complete(key(appId, idempotencyKey), answer, windowMs, Date.now());
  }

  async releaseIdempotencyKey(appId: string, idempotencyKey: string): Promise<void> {
    this.idempotencyKeys.release(key(appId, idempotencyKey));
  }

  /** Every stream starts over under a new epoch (RedisEngine: its publishes during a new outage). */
  restartStreams(): void {
    this.streams.restart();
  }

  async addSubscription(appId: string, channel: string, socketId: string): Promise<number> {
    const k = key(appId, channel);
    let sockets = this.subscriptions.get(k);
    if (sockets === undefined) this.subscriptions.set(k, (sockets = new Set()));
    sockets.add(socketId);
    return sockets.size;
  }

  async removeSubscription(appId: string, channel: string, socketId: string): Promise<number> {
    const k = key(appId, channel);
    const sockets = this.subscriptions.get(k);
    if (sockets === undefined) return 0;
    sockets.delete(socketId);
    if (sockets.size === 0) this.subscriptions.delete(k);
    return sockets.size;
  }

  async subscriptionCount(appId: string, channel: string): Promise<number> {
    return this.subscriptions.get(key(appId, channel))?.size ?? 0;
  }

  async channels(appId: string, prefix = ''): Promise<Map<string, number>> {
    const result = new Map<string, number>();
    const appPrefix = key(appId, prefix);
    for (const [k, sockets] of this.subscriptions) {
      if (k.startsWith(appPrefix)) result.set(k.slice(appId.length + 1), sockets.size);
    }
    return result;
  }

  async join(appId: string, channel: string, socketId: string, member: PresenceMember, maxMembers: number): Promise<PresenceJoin> {
    return this.hold(appId, channel, member, maxMembers, (entry) => entry.sockets.add(socketId));
  }

  /** Adds a hold of the user on the channel, entering the user unless the roster is full. */
  private hold(appId: string, channel: string, member: PresenceMember, maxMembers: number, take: (entry: RosterEntry) => void): PresenceJoin {
    const k = key(appId, channel);
    let roster = this.rosters.get(k);
    let entry = roster?.members.get(member.userId);
    const firstForUser = entry === undefined;
    if (entry === undefined) {
      if ((roster?.members.size ?? 0) >= maxMembers) return FULL;
      if (roster === undefined) this.rosters.set(k, (roster = { members: new Map() }));
      roster.members.set(member.userId, (entry = { member, sockets: new Set() }));
    }
    take(entry);
    return { status: 'joined', firstForUser, roster: this.roster(k) };
  }

  async leave(appId: string, channel: string, socketId: string, userId: string): Promise<boolean> {
    const k = key(appId, channel);
    const entry = this.rosters.get(k)?.members.get(userId);
    if (entry === undefined || !entry.sockets.delete(socketId)) return false;
    return this.releaseIfFree(k, entry);
  }

  /** Drops the user from the roster once neither a socket nor a lease holds it; true when it did. */
  private releaseIfFree(k: string, entry: RosterEntry): boolean {
    if (entry.sockets.size > 0 || entry.lease !== undefined) return false;
    const roster = this.rosters.get(k)!;
    roster.members.delete(entry.member.userId);
    if (roster.members.size === 0) this.rosters.delete(k);
    return true;
  }

  async leaseMember(appId: string, channel: string, member: PresenceMember, ttlMs: number, maxMembers: number): Promise<PresenceJoin> {
    const deadline = Date.now() + ttlMs;
    return this.hold(appId, channel, member, maxMembers, (entry) => {
      if (entry.lease !== undefined) entry.lease.deadline = deadline;
      else this.leases.add((entry.lease = { appId, channel, userId: member.userId, deadline }));
    });
  }

  async renewLease(appId: string, channel: string, userId: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    const lease = this.rosters.get(key(appId, channel))?.members.get(userId)?.lease;
    // Past its deadline the lease is expired even before the sweep removes it (as in Redis).
    if (lease === undefined || lease.deadline <= now) return false;
    lease.deadline = now + ttlMs;
    return true;
  }

  async releaseLease(appId: string, channel: string, userId: string): Promise<ReleasedLease | undefined> {
    const k = key(appId, channel);
    const entry = this.rosters.get(k)?.members.get(userId);
    if (entry?.lease === undefined) return undefined;
    return { member: entry.member, lastForUser: this.endLease(k, entry) };
  }

  async expireLeases(limit: number): Promise<ExpiredLease[]> {
    const now = Date.now();
    const expired: ExpiredLease[] = [];
    for (const lease of this.leases) {
      if (expired.length >= limit) break;
      if (lease.deadline > now) continue;
      const k = key(lease.appId, lease.channel);
      const entry = this.rosters.get(k)!.members.get(lease.userId)!;
      expired.push({ appId: lease.appId, channel: lease.channel, member: entry.member, lastForUser: this.endLease(k, entry) });
    }
    return expired;
  }

  private endLease(k: string, entry: RosterEntry): boolean {
    this.leases.delete(entry.lease!);
    entry.lease = undefined;
    return this.releaseIfFree(k, entry);
  }

  async members(appId: string, channel: string): Promise<Map<string, PresenceMember>> {
    return this.roster(key(appId, channel));
  }

  private roster(k: string): Map<string, PresenceMember> {
    const result = new Map<string, PresenceMember>();
    for (const [userId, entry] of this.rosters.get(k)?.members ?? []) result.set(userId, entry.member);
    return result;
  }

  async addUserSocket(appId: string, userId: string, socketId: string): Promise<void> {
    const k = key(appId, userId);
    let sockets = this.userSockets.get(k);
    if (sockets === undefined) this.userSockets.set(k, (sockets = new Set()));
    sockets.add(socketId);
    if (sockets.size === 1) this.delivery.userStatusChanged(appId, userId, true);
  }

  async removeUserSocket(appId: string, userId: string, socketId: string): Promise<void> {
    const k = key(appId, userId);
    const sockets = this.userSockets.get(k);
    if (sockets === undefined || !sockets.delete(socketId)) return;
    if (sockets.size === 0) {
      this.userSockets.delete(k);
      this.delivery.userStatusChanged(appId, userId, false);
    }
  }

  async onlineUsers(appId: string, userIds: string[]): Promise<Set<string>> {
    return new Set(userIds.filter((id) => this.userSockets.has(key(appId, id))));
  }

  async terminateUser(appId: string, userId: string): Promise<void> {
    this.delivery.terminateUser(appId, userId);
  }

  async setCache(appId: string, channel: string, event: string, data: string, ttlSeconds: number): Promise<void> {
    this.cache.set(key(appId, channel), { event, data, expiresAt: Date.now() + ttlSeconds * 1000 });
  }

  async getCache(appId: string, channel: string): Promise<CachedEvent | undefined> {
    const k = key(appId, channel);
    const entry = this.cache.get(k);
    if (entry === undefined) return undefined;
    const ttl = Math.ceil((entry.expiresAt - Date.now()) / 1000);
    if (ttl <= 0) {
      this.cache.delete(k);
      return undefined;
    }
    return { event: entry.event, data: entry.data, ttl };
  }

  async claimNonce(appId: string, userId: string, nonce: string, ttlMs: number): Promise<boolean> {
    return this.guards.claimNonce(key(appId, key(userId, nonce)), ttlMs, Date.now());
  }

  async revokeToken(appId: string, jti: string, untilMs: number): Promise<void> {
    this.guards.revoke(key(appId, jti), untilMs, Date.now());
  }

  async isRevoked(appId: string, jti: string): Promise<boolean> {
    return this.guards.isRevoked(key(appId, jti), Date.now());
  }

  async countHit(appId: string, bucket: string, nowMs: number): Promise<number> {
    return this.guards.countHit(key(appId, bucket), nowMs);
  }

  async connectionOpened(appId: string): Promise<number> {
    const count = (this.connections.get(appId) ?? 0) + 1;
    this.connections.set(appId, count);
    return count;
  }

  async connectionClosed(appId: string): Promise<void> {
    const count = (this.connections.get(appId) ?? 1) - 1;
    if (count <= 0) this.connections.delete(appId);
    else this.connections.set(appId, count);
  }

  snapshot(): LocalSnapshot {
    const result: LocalSnapshot = { subscriptions: [], presence: [], users: [], connections: [] };
    for (const [k, sockets] of this.subscriptions) {
      const [appId, channel] = split(k);
      result.subscriptions.push({ appId, channel, count: sockets.size });
    }
    for (const [k, roster] of this.rosters) {
      const [appId, channel] = split(k);
      // Leases are nobody's node: RedisEngine keeps them in Redis only, never in this record.
      for (const { member, sockets } of roster.members.values()) result.presence.push({ appId, channel, member, count: sockets.size });
    }
    for (const [k, sockets] of this.userSockets) {
      const [appId, userId] = split(k);
      result.users.push({ appId, userId, count: sockets.size });
    }
    for (const [appId, count] of this.connections) result.connections.push({ appId, count });
    return result;
  }
}
