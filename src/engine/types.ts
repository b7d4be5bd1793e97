// The engine: everything that must be one truth across nodes — fan-out, occupancy, presence
// rosters, signed-in users, cache entries, connection counts, stream positions. LocalEngine
// keeps it in process; a clustered engine keeps it in Redis. Callers never know which.
import { encodePositionTail } from '../../protocol/index.js';

/** How long a history stream keeps events: the oldest go first once any limit is passed. */
export interface Retention {
  maxEvents: number;
  maxAgeMs: number;
  /** Sum of the stored frames' sizes in UTF-8 bytes. */
  maxBytes: number;
}

/** A publication to a history channel: sequenced, stored, and its frame completed with its position. */
export interface StreamTarget {
  /** 0 when unpartitioned. */
  partition: number;
  /** Frames carry `"partition"` only when the channel has more than one (docs/PROTOCOL.md §13.2). */
  partitioned: boolean;
  retention: Retention;
}

export interface Publication {
  appId: string;
  channel: string;
  /**
   * The encoded frame, built once per publish. On a history channel (`stream` set) it is the
   * frame without its closing `}`: the engine appends the position fields and the `}` once it
   * knows the position (positionFields below; the Lua publish script does the same), so history,
   * the bus and every subscriber get the same bytes.
   */
  frame: string;
  /** socket_id that must not receive it (toOthers, client-event sender, presence joiner). */
  exceptSocketId?: string;
  /** Present on history channels only: every other publish is unsequenced and stores nothing. */
  stream?: StreamTarget;
  /**
   * A publisher is told it succeeded (HTTP API events): while the cluster is out of reach it is
   * queued or refused (outagePublish), never delivered on this node only. Without it (client
   * events, presence and count frames) an outage delivers to this node's sockets only.
   */
  durable?: boolean;
}

/**
 * The tail of a history channel's frame: `,"offset":N,"epoch":"E"[,"partition":P]}`. The one
 * TypeScript twin of the publish script's Lua concatenation (redis-scripts.ts bcPublish); the
 * format is written next to its reader, positionOfFrame.
 */
export function positionFields(position: StreamPosition, target: StreamTarget): string {
  return encodePositionTail(position.offset, position.epoch, target.partitioned ? target.partition : undefined);
}

/**
 * A durable publish the engine can neither deliver cluster-wide nor queue now; the HTTP API
 * answers 503 with Retry-After, so the publisher (a Laravel queue worker) retries.
 */
export class EngineUnavailableError extends Error {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

export interface PresenceMember {
  userId: string;
  /** user_id as it appeared in channel_data (number or string), echoed in member frames. */
  rawUserId: string | number;
  info: unknown;
}

export interface CachedEvent {
  event: string;
  data: string;
  /** Seconds until it expires. */
  ttl: number;
}

/** Where the engine delivers on this node. Implemented by the connection hub. */
export interface LocalDelivery {
  deliver(appId: string, channel: string, frame: string, exceptSocketId?: string): void;
  /** Closes this node's sockets signed in as the user (terminate_connections). */
  terminateUser(appId: string, userId: string): void;
  /** A user went online (first signed-in connection anywhere) or offline (last one gone). */
  userStatusChanged(appId: string, userId: string, online: boolean): void;
}

/**
 * Presence and occupancy that changed because a node died (kill -9) or came back after being
 * declared dead, not because a socket joined or left: no socket handler reported them, so the
 * node that saw the change reports them here, once cluster-wide, for the side effects beyond the
 * frames the engine fans out itself (webhooks, subscription_count).
 */
export interface ClusterChanges {
  /** The user's last connection in the presence channel was on the dead node. */
  memberLeft(appId: string, channel: string, userId: string): void;
  /** The returning node holds the user's only connection in the presence channel. */
  memberReturned(appId: string, channel: string, userId: string): void;
  /** The channel's subscribers cluster-wide are now `total`; `crossedZero` when it was or became empty. */
  subscribersChanged(appId: string, channel: string, total: number, crossedZero: boolean): void;
}

/**
 * Where a publication sits in its channel's stream. `offset` counts the channel's sequenced
 * publications (0 = unsequenced); `epoch` names one unbroken run of offsets: it changes whenever
 * continuity is lost (a LocalEngine start, an expired or lost Redis stream, a publish while Redis
 * is out of reach), so "since offset N" is meaningful only within the same epoch.
 */
export interface StreamPosition {
  offset: number;
  epoch: string;
}

/** One stored event: its offset and the complete frame subscribers got. */
export interface HistoryEntry {
  offset: number;
  frame: string;
}

/** A read of one channel stream (one partition). */
export interface HistoryRead {
  /**
   * The stream's current position: offset of its last publish (0 before any) and its epoch. A
   * read creates the stream when it does not exist, so a subscriber that saw offset 0 of a new
   * epoch can resume from it once events arrive.
   */
  position: StreamPosition;
  /** Oldest offset still stored (position.offset + 1 when nothing is). */
  first: number;
  /** Stored events with offset >= `from`, oldest first, at most `limit`, none older than maxAgeMs. */
  entries: HistoryEntry[];
}

/** Stored event streams of history channels (docs/PROTOCOL.md §13). */
export interface History {
  readHistory(appId: string, channel: string, partition: number, from: number, limit: number, retention: Retention): Promise<HistoryRead>;
}

/** What an idempotency key claim finds (docs/PROTOCOL.md §13.5). */
export type IdempotencyClaim =
  /** This caller owns the key now: publish, then complete (or release on failure). */
  | { status: 'claimed' }
  /** Another request with the key is still publishing. */
  | { status: 'pending' }
  /** Published before within the window: the answer it got. */
  | { status: 'done'; answer: string };

/** HTTP publish idempotency keys, cluster-wide with Redis. */
export interface IdempotencyKeys {
  claimIdempotencyKey(appId: string, key: string, windowMs: number): Promise<IdempotencyClaim>;
  completeIdempotencyKey(appId: string, key: string, answer: string, windowMs: number): Promise<void>;
  /** The publish failed: a retry may claim the key again. */
  releaseIdempotencyKey(appId: string, key: string): Promise<void>;
}

/** What an unsequenced publish resolves to. */
export const UNSEQUENCED: StreamPosition = Object.freeze({ offset: 0, epoch: '' });

/** Fan-out. */
export interface Broker {
  /**
   * Fans out on every node; resolves to the channel's stream position after this publish.
   * Rejects with EngineUnavailableError when a durable publication can reach neither the cluster
   * nor the outage queue.
   */
  publish(publication: Publication): Promise<StreamPosition>;
}

export type PresenceJoin =
  /** The member limit is reached and the user is not a member yet: nothing changed. */
  | { status: 'full' }
  | { status: 'joined'; firstForUser: boolean; roster: Map<string, PresenceMember> };

/** Presence rosters (docs/PROTOCOL.md §2.5, §2.7). */
export interface PresenceStore {
  /**
   * One atomic step cluster-wide: checks `maxMembers` (a user already present always gets in),
   * adds the socket and answers the roster with it included.
   */
  join(appId: string, channel: string, socketId: string, member: PresenceMember, maxMembers: number): Promise<PresenceJoin>;
  /** Resolves true when that was the user's last connection in the channel. */
  leave(appId: string, channel: string, socketId: string, userId: string): Promise<boolean>;
  /** user id → member, one entry per distinct user. */
  members(appId: string, channel: string): Promise<Map<string, PresenceMember>>;
}

/** A leased presence member that expired: removed once cluster-wide, reported to one node. */
export interface ExpiredLease {
  appId: string;
  channel: string;
  member: PresenceMember;
  /** True when the lease was the user's last hold on the channel: member_removed is due. */
  lastForUser: boolean;
}

/** A lease ended on request. */
export interface ReleasedLease {
  member: PresenceMember;
  /** True when the lease was the user's last hold on the channel: member_removed is due. */
  lastForUser: boolean;
}

/**
 * Presence members joined over HTTP (docs/PROTOCOL.md §14.5): instead of a socket they hold a
 * lease with a deadline (Redis's clock with Redis), in the same roster as socket members. A lease
 * belongs to no node, so a node crash does not remove it; its deadline does.
 */
export interface PresenceLeases {
  /**
   * Joins the user as a leased member, or renews the lease it holds (then `firstForUser` is
   * false). The same member limit and roster as join().
   */
  leaseMember(appId: string, channel: string, member: PresenceMember, ttlMs: number, maxMembers: number): Promise<PresenceJoin>;
  /** Moves the lease's deadline to now + ttlMs; false when the user holds no lease (expired or never joined). */
  renewLease(appId: string, channel: string, userId: string, ttlMs: number): Promise<boolean>;
  /**
   * Ends the lease now; undefined when there was none, else the member (its raw id for the
   * member_removed frame) and whether the lease was the user's last hold on the channel.
   */
  releaseLease(appId: string, channel: string, userId: string): Promise<ReleasedLease | undefined>;
  /** Removes the leases past their deadline, at most `limit`; each expiry is reported to exactly one caller cluster-wide. */
  expireLeases(limit: number): Promise<ExpiredLease[]>;
}

/** Anti-replay, revocation and rate windows of JWT requests (docs/PROTOCOL.md §14.6), cluster-wide with Redis. */
export interface TokenGuards {
  /** True the first time this user presents `nonce` within ttlMs; false for a repeat. */
  claimNonce(appId: string, userId: string, nonce: string, ttlMs: number): Promise<boolean>;
  /** Refuses tokens with this `jti` until `untilMs` (epoch ms). */
  revokeToken(appId: string, jti: string, untilMs: number): Promise<void>;
  isRevoked(appId: string, jti: string): Promise<boolean>;
  /**
   * Counts a hit in `bucket`'s current one-second window (aligned to the epoch second, so every
   * node counts the same window); resolves to the window's count including it.
   */
  countHit(appId: string, bucket: string, nowMs: number): Promise<number>;
}

/** Channel occupancy. */
export interface Occupancy {
  /** Adds a socket to a channel; resolves to the channel's subscription count afterwards. */
  addSubscription(appId: string, channel: string, socketId: string): Promise<number>;
  /** Removes it; resolves to the remaining count. */
  removeSubscription(appId: string, channel: string, socketId: string): Promise<number>;
  subscriptionCount(appId: string, channel: string): Promise<number>;
  /** Occupied channels of an app (optionally by prefix) → subscription count. */
  channels(appId: string, prefix?: string): Promise<Map<string, number>>;
}

/** Signed-in users (docs/PROTOCOL.md §2.11, §2.14, §5.7). */
export interface SignedInUsers {
  /** Registers a signed-in socket; a first connection anywhere reports the user online. */
  addUserSocket(appId: string, userId: string, socketId: string): Promise<void>;
  removeUserSocket(appId: string, userId: string, socketId: string): Promise<void>;
  onlineUsers(appId: string, userIds: string[]): Promise<Set<string>>;
  terminateUser(appId: string, userId: string): Promise<void>;
}

/** The last event of each cache channel (docs/PROTOCOL.md §2.13). */
export interface ChannelCache {
  setCache(appId: string, channel: string, event: string, data: string, ttlSeconds: number): Promise<void>;
  getCache(appId: string, channel: string): Promise<CachedEvent | undefined>;
}

/** Per-app quotas, counted cluster-wide. */
export interface Quotas {
  /** Counts a connection against the app; resolves to the app's count including it. */
  connectionOpened(appId: string): Promise<number>;
  connectionClosed(appId: string): Promise<void>;
}

/** Everything counted or remembered per app besides fan-out and presence. */
export interface Counters extends Occupancy, SignedInUsers, ChannelCache, Quotas, History, IdempotencyKeys, TokenGuards {}

export interface Engine extends Broker, PresenceStore, PresenceLeases, Counters {
  /** A single-process engine never sees a node die and may ignore cluster changes. */
  start(delivery: LocalDelivery, changes: ClusterChanges): Promise<void>;
  stop(): Promise<void>;
  /** 'degraded' while a clustered engine cannot reach its shared store: delivery stays local. */
  health(): 'ok' | 'degraded';
}

/** What the engine reports beyond its answers (to metrics and logs). */
export interface EngineHooks {
  /** Events queued during an outage (outagePublish "queue") that aged out before Redis was back. */
  outageEventsDropped(appId: string, count: number): void;
}
