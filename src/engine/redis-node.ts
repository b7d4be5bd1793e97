// This node's membership in the cluster: its identity in Redis, its heartbeat, re-registering
// after an outage, and cleaning up after nodes that died.
//
// A node registers under an incarnation id (process + generation) and every counter it adds is
// attributed to that incarnation ({prefix}:node:{id}). Whenever its link to Redis comes back it
// starts a new incarnation: it restores its live state (the LocalEngine mirror) under the new id
// first, then takes the old incarnation's counters back exactly as for a dead node. Additions
// before removals make the presence announcements the exact difference between what the cluster
// believed and what is true now, with no member flickering out and back in.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { memberAdded, memberRemoved } from '../../protocol/index.js';
import type { Logger } from '../logger.js';
import type { LocalEngine, LocalSnapshot } from './local.js';
import { counter, decodeMember, encodeMember, parsePresenceCounter, parseSubscriptionsCounter, type RedisKeys } from './redis-keys.js';
import type { Scripts } from './redis-scripts.js';
import type { ClusterChanges, PresenceMember } from './types.js';

/** Counters per restore or reap call: each call stays a few ms of Redis time however big a node is. */
const BATCH = 500;
const BEATS_PER_TTL = 10;

export interface Announcer {
  /** Fans a frame out cluster-wide; skipSelf leaves out this node's sockets (they know already). */
  announce(appId: string, channel: string, frame: string, skipSelf: boolean): Promise<void>;
  /** Where changes from nodes dying or returning are reported (known once the engine started). */
  changes(): ClusterChanges | undefined;
}

/**
 * A presence change this node decided alone while Redis was out of reach. A leave is announced
 * with the user id string, which every client matches the same as the raw id.
 */
type OfflineChange = { joined: PresenceMember } | 'left';

/** How Redis remembered the previous incarnation (see bcRegister). */
const enum Previous {
  /** First start, or Redis lost its data: the cluster's view of this node is gone. */
  Unknown = 0,
  /** Still registered: its counters are still counted. */
  Alive = 1,
  /** Declared dead: survivors announced its members as removed. */
  Reaped = 2,
}

export class ClusterNode {
  /** This process; messages it skips on the bus name it. */
  readonly base = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private generation = 0;
  private registered: string | undefined;
  private previous = '';
  private synced = false;
  /** Set after a reconnect: other nodes get one nodeTtl to re-register before expired ones are reaped. */
  private reapFrom = 0;
  private registeredBefore = false;
  /** The link is up: registration and heartbeats may run. */
  private up = false;
  /** The registration or heartbeat in progress; beats never overlap it. */
  private running: Promise<void> | undefined;
  private stale = false;
  private offline = new Map<string, OfflineChange>();
  private timer: NodeJS.Timeout | undefined;
  private readonly ttlMs: number;
  private readonly heartbeatMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly scripts: Scripts,
    private readonly keys: RedisKeys,
    ttlSeconds: number,
    private readonly local: LocalEngine,
    private readonly announcer: Announcer,
    private readonly log: Logger,
  ) {
    this.ttlMs = ttlSeconds * 1000;
    // Ten beats per nodeTtl. A node counts as dead once Redis's own clock (TIME, in the scripts)
    // is past its last beat plus nine beats, so a node busy for less than that (a load spike, a
    // GC pause) is never removed, and one beat early, so that dead-by + the beat a survivor
    // needs to notice stays within nodeTtl of the last sign of life.
    this.heartbeatMs = Math.floor(this.ttlMs / BEATS_PER_TTL);
  }

  /** The incarnation that counters go to, or undefined while changes stay local. */
  get id(): string | undefined {
    return this.registered;
  }

  /** Registered and restored: the cluster's state includes this node's. */
  healthy(): boolean {
    return this.synced;
  }

  start(): void {
    this.timer = setInterval(() => this.beat(), this.heartbeatMs);
    this.timer.unref();
  }

  linkUp(): void {
    this.up = true;
    this.run(() => this.register());
  }

  linkDown(): void {
    this.up = false;
    this.generation += 1;
    this.registered = undefined;
    this.synced = false;
  }

  /** A command failed with the link up: start a fresh incarnation on the next beat. */
  markStale(): boolean {
    const first = !this.stale;
    this.stale = true;
    return first;
  }

  recordOffline(field: string, change: OfflineChange): void {
    this.offline.set(field, change);
  }

  /** Registers a new incarnation, restores this node's state under it and retires the old one. */
  private async register(): Promise<void> {
    const generation = ++this.generation;
    const id = `${this.base}.${generation}`;
    this.registered = undefined;
    this.synced = false;
    const previous = Number(await this.scripts.bcRegister(this.keys.prefix, id, this.previous, this.ttlMs - this.heartbeatMs, this.ttlMs)) as Previous;
    if (generation !== this.generation) return;
    const retired = this.previous;
    this.previous = id;
    if (this.registeredBefore) this.reapFrom = Date.now() + this.ttlMs;
    this.registeredBefore = true;
    // Snapshot and switch in one tick: every later change is queued behind the restore.
    const snapshot = this.local.snapshot();
    const offline = this.offline;
    this.offline = new Map();
    this.registered = id;
    const announceUsers = previous === Previous.Unknown ? 0 : 1;
    const restored = (await Promise.all(restoreBatches(snapshot).map((batch) => this.scripts.bcRestore(this.keys.prefix, id, announceUsers, ...batch)))) as [string[], Tally][];
    if (generation !== this.generation) return;
    this.synced = true;
    const added = restored.flatMap(([fields]) => fields);
    await this.announceRestored(added, snapshot, previous, offline);
    // Survivors reported this node's members and subscribers as gone: report them back.
    const changes = previous === Previous.Reaped ? this.announcer.changes() : undefined;
    if (changes !== undefined) {
      for (const field of added) {
        const { appId, channel, userId } = parsePresenceCounter(field);
        changes.memberReturned(appId, channel, userId);
      }
      for (const [, tally] of restored) reportSubscribers(tally, changes);
    }
    // Its sockets are this node's and still here: nothing departed.
    if (previous === Previous.Alive) await this.reap(retired, false);
    if (previous === Previous.Unknown) this.reconcileLeaves(offline);
  }

  /** On shutdown: takes this node's counters back, announcing its members as removed. */
  async retire(): Promise<void> {
    clearInterval(this.timer);
    const id = this.registered;
    this.linkDown();
    if (id === undefined) return;
    await this.scripts.bcRegister(this.keys.prefix, '', id, 0, this.ttlMs);
    // The sockets were closed first and reported their own leaves.
    await this.reap(id, false);
  }

  private run(task: () => Promise<void>): void {
    const running = task()
      // Failing because the link dropped is expected; linkUp() starts over when it is back.
      .catch((error: unknown) => this.log[this.up ? 'warn' : 'debug']({ err: error }, 'cluster registration or heartbeat failed; retrying'))
      .finally(() => {
        if (this.running === running) this.running = undefined;
      });
    this.running = running;
  }

  private beat(): void {
    if (this.up && this.running === undefined) this.run(() => this.heartbeat());
  }

  private async heartbeat(): Promise<void> {
    if (this.stale || !this.synced) {
      this.stale = false;
      return this.register();
    }
    const mayReap = Date.now() >= this.reapFrom ? 1 : 0;
    const [alive, dead] = (await this.scripts.bcHeartbeat(this.keys.prefix, this.registered!, this.ttlMs - this.heartbeatMs, this.ttlMs, mayReap)) as [number, string | null];
    if (alive === 0) {
      this.log.warn({ node: this.registered }, 'this node missed its heartbeats for nodeTtl and was declared dead; re-registering');
      return this.register();
    }
    if (dead !== null) {
      this.log.warn({ node: dead }, 'a node stopped heartbeating; removing its connections and presence members');
      await this.reap(dead, true);
    }
  }

  /**
   * Takes a dead incarnation's counters back batch by batch and announces who left with it;
   * with `report`, also reports those leaves (members first, then channels, as a leave does).
   */
  private async reap(id: string, report: boolean): Promise<void> {
    const changes = report ? this.announcer.changes() : undefined;
    for (;;) {
      const [done, left, tally] = (await this.scripts.bcReap(this.keys.prefix, id, BATCH, this.ttlMs)) as [number, string[], Tally];
      const announced: Promise<void>[] = [];
      for (let i = 0; i < left.length; i += 2) {
        const { appId, channel, userId } = parsePresenceCounter(left[i]);
        const frame = memberRemoved(channel, decodeMember(userId, left[i + 1]).rawUserId);
        announced.push(this.announcer.announce(appId, channel, frame, false));
        changes?.memberLeft(appId, channel, userId);
      }
      if (changes !== undefined) reportSubscribers(tally, changes);
      await Promise.all(announced);
      if (done === 1) return;
    }
  }

  /**
   * member_added for users the restore made present again. After a blip this node's sockets saw
   * them all along; after being declared dead they too were told the members left. When Redis
   * forgot everything, only joins made during the outage are news to the other nodes.
   */
  private async announceRestored(fields: string[], snapshot: LocalSnapshot, previous: Previous, offline: Map<string, OfflineChange>): Promise<void> {
    const members = new Map(snapshot.presence.map((p) => [counter.presence(p.appId, p.channel, p.member.userId), p]));
    const announced: Promise<void>[] = [];
    for (const field of fields) {
      const entry = members.get(field);
      if (entry === undefined || (previous === Previous.Unknown && typeof offline.get(field) !== 'object')) continue;
      const frame = memberAdded(entry.channel, entry.member.rawUserId, entry.member.info);
      announced.push(this.announcer.announce(entry.appId, entry.channel, frame, previous !== Previous.Reaped));
    }
    await Promise.all(announced);
  }

  /**
   * When Redis lost its data, users who left this node during the outage may still be shown on
   * others. Once every live node had a nodeTtl to re-register, those absent from the roster are
   * announced as removed (a no-op for sockets that never knew them).
   */
  private reconcileLeaves(offline: Map<string, OfflineChange>): void {
    const leaves = [...offline].filter(([, change]) => change === 'left').map(([field]) => parsePresenceCounter(field));
    if (leaves.length === 0) return;
    setTimeout(() => {
      for (const { appId, channel, userId } of leaves) {
        this.redis
          .hexists(this.keys.app(appId, 'members', channel), userId)
          .then((present) => (present === 1 ? undefined : this.announcer.announce(appId, channel, memberRemoved(channel, userId), false)))
          .catch((error: unknown) => this.log.debug({ err: error }, 'post-outage presence check failed'));
      }
    }, this.ttlMs).unref();
  }
}

/** (subscriptions field, cluster-wide total, 1 if it crossed zero) triples, from bcRestore and bcReap. */
type Tally = (string | number)[];

function reportSubscribers(tally: Tally, changes: ClusterChanges): void {
  for (let i = 0; i < tally.length; i += 3) {
    const { appId, channel } = parseSubscriptionsCounter(String(tally[i]));
    changes.subscribersChanged(appId, channel, Number(tally[i + 1]), Number(tally[i + 2]) === 1);
  }
}

/** This node's state as (counter, count, member JSON) triples, BATCH counters per call. */
function restoreBatches(snapshot: LocalSnapshot): (string | number)[][] {
  const flat: (string | number)[] = [];
  for (const s of snapshot.subscriptions) flat.push(counter.subscriptions(s.appId, s.channel), s.count, '');
  for (const p of snapshot.presence) flat.push(counter.presence(p.appId, p.channel, p.member.userId), p.count, encodeMember(p.member));
  for (const u of snapshot.users) flat.push(counter.user(u.appId, u.userId), u.count, '');
  for (const c of snapshot.connections) flat.push(counter.connections(c.appId), c.count, '');
  const batches: (string | number)[][] = [];
  for (let i = 0; i < flat.length; i += BATCH * 3) batches.push(flat.slice(i, i + BATCH * 3));
  return batches;
}
