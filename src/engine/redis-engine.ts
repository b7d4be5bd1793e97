// RedisEngine: many processes and machines behave as one Pusher server. Shared state is per-node
// counters plus cluster-wide totals in Redis (layout: redis-keys.ts), changed only by Lua scripts
// (redis-scripts.ts); publishes (redis-broker.ts) ride a per-app pub/sub bus (redis-bus.ts); node
// liveness and crash cleanup live in redis-node.ts, history reads and idempotency keys in
// redis-history.ts, presence leases in redis-leases.ts, nonces, revocations and rate windows in
// redis-guards.ts, how the connections fail in redis-options.ts. This node's own state is also
// kept in a LocalEngine: it answers while Redis is out of reach and is what the node re-registers
// when Redis is back.
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { ServerConfig } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { connectRedis } from '../redis/connect.js';
import { LocalEngine } from './local.js';
import { RedisBroker } from './redis-broker.js';
import { RedisHistory, type RedisPart } from './redis-history.js';
import { Bus, terminateMessage } from './redis-bus.js';
import { RedisTokenGuards } from './redis-guards.js';
import { counter, decodeJoin, decodeMember, encodeMember, RedisKeys, type JoinAnswer } from './redis-keys.js';
import { RedisLeases } from './redis-leases.js';
import { ClusterNode } from './redis-node.js';
import { COMMAND_TIMEOUT_MS, CONNECTION_OPTIONS } from './redis-options.js';
import { StallProbe } from './redis-probe.js';
import { defineScripts, type Scripts } from './redis-scripts.js';
import type {
  CachedEvent,
  ClusterChanges,
  Engine,
  EngineHooks,
  HistoryRead,
  IdempotencyClaim,
  LocalDelivery,
  PresenceJoin,
  PresenceLeases,
  PresenceMember,
  Publication,
  Retention,
  StreamPosition,
  TokenGuards,
} from './types.js';

/** How long start() waits for Redis before serving degraded (ioredis keeps retrying). */
const STARTUP_WAIT_MS = 5000;
/** The stall probe pings this often and reconnects when a PING is unanswered this long: /ready turns 503 within a second. */
const PROBE_INTERVAL_MS = 100;
const STALL_MS = 600;

type Change = [total: number, crossed: 0 | 1, left: string | null];

export class RedisEngine implements Engine {
  private readonly keys: RedisKeys;
  private readonly cmd: Redis;
  private readonly sub: Redis;
  private readonly scripts: Scripts;
  private readonly bus: Bus;
  private readonly node: ClusterNode;
  private readonly local = new LocalEngine();
  private readonly probe: StallProbe;
  private readonly broker: RedisBroker;
  private readonly history: RedisHistory;
  private readonly leases: RedisLeases;
  private readonly guards: RedisTokenGuards;
  private changes: ClusterChanges | undefined;
  /** Both connections ready and every app's bus subscribed. */
  private linked = false;
  private stopped = false;

  constructor(
    private readonly config: ServerConfig & { redisUrl: string },
    private readonly log: Logger,
    hooks: EngineHooks,
  ) {
    this.keys = new RedisKeys(config.redisPrefix);
    // Named so that CLIENT LIST shows which process and role a connection is.
    const name = `broadcasty:${hostname()}:${process.pid}`;
    this.cmd = connectRedis(config.redisUrl, { ...CONNECTION_OPTIONS, enableAutoPipelining: true, connectionName: `${name}:cmd` });
    this.sub = connectRedis(config.redisUrl, { ...CONNECTION_OPTIONS, autoResubscribe: false, connectionName: `${name}:bus` });
    this.scripts = defineScripts(this.cmd);
    const announcer = {
      announce: (appId: string, channel: string, frame: string, skipSelf: boolean) => this.broker.announce(appId, channel, frame, skipSelf),
      changes: () => this.changes,
    };
    this.node = new ClusterNode(this.cmd, this.scripts, this.keys, config.nodeTtl, this.local, announcer, log);
    const link = { linked: () => this.linked, failed: (error: unknown) => this.failed(error) };
    this.broker = new RedisBroker(this.scripts, this.keys, config, this.local, link, this.node.base, log, hooks);
    const part: RedisPart = {
      cmd: this.cmd,
      scripts: this.scripts,
      keys: this.keys,
      local: this.local,
      viaRedis: (shared, local) => this.viaRedis(shared, local),
    };
    this.history = new RedisHistory(part);
    this.leases = new RedisLeases(part);
    this.guards = new RedisTokenGuards(part);
    this.bus = new Bus(this.sub, this.cmd, this.keys, this.node.base, log, () => this.linkChanged());
    // On the bus connection: no long pipeline (a restore, an outbox flush) sits ahead of its PING.
    this.probe = new StallProbe(this.sub, PROBE_INTERVAL_MS, STALL_MS, () => this.stalled(`Redis did not answer a PING within ${STALL_MS} ms`));
  }

  async start(delivery: LocalDelivery, changes: ClusterChanges): Promise<void> {
    this.changes = changes;
    await this.local.start({
      deliver: (appId, channel, frame, except) => delivery.deliver(appId, channel, frame, except),
      terminateUser: (appId, userId) => delivery.terminateUser(appId, userId),
      // While registered, the change script announces a user's first/last socket cluster-wide.
      userStatusChanged: (appId, userId, online) => {
        if (this.node.id === undefined) delivery.userStatusChanged(appId, userId, online);
      },
    });
    this.bus.start(delivery);
    // Every failed reconnect attempt emits an error; the link going down is logged once instead.
    for (const client of [this.cmd, this.sub]) client.on('error', (error: unknown) => this.log.debug({ err: error }, 'redis connection error'));
    this.cmd.on('ready', () => this.linkChanged());
    this.cmd.on('close', () => this.linkChanged());
    this.node.start();
    this.probe.start();
    // A refused first attempt is retried like any reconnect.
    await Promise.allSettled([this.cmd.connect(), this.sub.connect()]);
    const deadline = Date.now() + STARTUP_WAIT_MS;
    while (this.health() !== 'ok' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    if (this.health() !== 'ok') this.log.error('Redis is not reachable: serving this node only and retrying; GET /ready answers 503 meanwhile');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.probe.stop();
    if (this.broker.queued > 0) this.log.error({ count: this.broker.queued }, 'stopping with events still queued from a Redis outage; they are lost');
    try {
      await this.node.retire();
    } catch (error) {
      this.log.warn({ err: error }, 'could not remove this node from Redis; other nodes will after nodeTtl');
    }
    await Promise.allSettled([this.cmd.quit(), this.sub.quit()]);
    this.cmd.disconnect();
    this.sub.disconnect();
  }

  health(): 'ok' | 'degraded' {
    return this.linked && this.node.healthy() ? 'ok' : 'degraded';
  }

  private linkChanged(): void {
    const linked = !this.stopped && this.cmd.status === 'ready' && this.bus.ready();
    if (linked === this.linked) return;
    this.linked = linked;
    if (linked) {
      this.log.info('Redis link up: registering this node');
      this.node.linkUp();
      this.broker.flush();
    } else if (!this.stopped) {
      this.node.linkDown();
      this.broker.linkDown();
      this.log.warn(`Redis link down: serving this node's sockets only until it is back; HTTP API events are ${this.config.outagePublish === 'queue' ? 'queued' : 'refused with 503'}`);
    }
  }

  /**
   * A command failed. A dropped link re-registers everything on reconnect. A silent Redis is
   * treated as down: reconnecting both connections flips health to degraded until it answers.
   * Any other failure with the link up leaves the counters in doubt: re-register to heal them.
   */
  private failed(error: unknown): void {
    if (this.cmd.status !== 'ready') return;
    if (error instanceof Error && error.message === 'Command timed out') return this.stalled(`Redis did not answer within ${COMMAND_TIMEOUT_MS} ms`);
    if (this.node.markStale()) this.log.error({ err: error }, 'Redis command failed; this node re-registers its state');
  }

  /** A silent Redis is treated as down: reconnecting both connections flips health to degraded until it answers. */
  private stalled(reason: string): void {
    if (this.stopped) return;
    this.log.warn(`${reason}; reconnecting`);
    this.cmd.disconnect(true);
    this.sub.disconnect(true);
  }

  /**
   * Moves one of this node's counters in Redis; undefined when the change stays local. `node` is
   * read in the same tick as the LocalEngine change: a re-registration in between restored that
   * change already, so it must not be counted twice.
   */
  private change(node: string | undefined, field: string, delta: number, member = ''): Promise<Change | undefined> {
    return this.asNode(node, (id) => this.scripts.bcChange(this.keys.prefix, id, field, delta, member));
  }

  /**
   * Runs a script that changes this node's counters as incarnation `node`; undefined when the
   * change stays local: no incarnation, the script refused it (nil: declared dead meanwhile), or
   * Redis failed.
   */
  private async asNode<T>(node: string | undefined, script: (node: string) => Promise<unknown>): Promise<T | undefined> {
    if (node === undefined || node !== this.node.id) return undefined;
    try {
      const result = (await script(node)) as T | null;
      if (result !== null) return result;
      if (this.node.markStale()) this.log.warn({ node }, 'this node was declared dead meanwhile; re-registering');
      return undefined;
    } catch (error) {
      this.failed(error);
      return undefined;
    }
  }

  /** The cluster-wide answer, or this node's own while Redis is out of reach (or failing). */
  private async viaRedis<T>(shared: () => Promise<T>, local: () => Promise<T>): Promise<T> {
    if (!this.linked) return local();
    try {
      return await shared();
    } catch (error) {
      this.failed(error);
      return local();
    }
  }

  publish(p: Publication): Promise<StreamPosition> {
    return this.broker.publish(p);
  }

  readHistory(appId: string, channel: string, partition: number, from: number, limit: number, retention: Retention): Promise<HistoryRead> {
    return this.history.readHistory(appId, channel, partition, from, limit, retention);
  }

  claimIdempotencyKey(appId: string, key: string, windowMs: number): Promise<IdempotencyClaim> {
    return this.history.claimIdempotencyKey(appId, key, windowMs);
  }

  completeIdempotencyKey(appId: string, key: string, answer: string, windowMs: number): Promise<void> {
    return this.history.completeIdempotencyKey(appId, key, answer, windowMs);
  }

  releaseIdempotencyKey(appId: string, key: string): Promise<void> {
    return this.history.releaseIdempotencyKey(appId, key);
  }

  async addSubscription(appId: string, channel: string, socketId: string): Promise<number> {
    const local = this.local.addSubscription(appId, channel, socketId);
    const shared = await this.change(this.node.id, counter.subscriptions(appId, channel), 1);
    return shared?.[0] ?? local;
  }

  async removeSubscription(appId: string, channel: string, socketId: string): Promise<number> {
    const local = this.local.removeSubscription(appId, channel, socketId);
    const shared = await this.change(this.node.id, counter.subscriptions(appId, channel), -1);
    return shared?.[0] ?? local;
  }

  async subscriptionCount(appId: string, channel: string): Promise<number> {
    return this.viaRedis(
      async () => Number((await this.cmd.hget(this.keys.app(appId, 'channels'), channel)) ?? 0),
      () => this.local.subscriptionCount(appId, channel),
    );
  }

  async channels(appId: string, prefix = ''): Promise<Map<string, number>> {
    return this.viaRedis(
      async () => {
        const result = new Map<string, number>();
        for (const [channel, count] of Object.entries(await this.cmd.hgetall(this.keys.app(appId, 'channels')))) {
          if (channel.startsWith(prefix)) result.set(channel, Number(count));
        }
        return result;
      },
      () => this.local.channels(appId, prefix),
    );
  }

  async join(appId: string, channel: string, socketId: string, member: PresenceMember, maxMembers: number): Promise<PresenceJoin> {
    const field = counter.presence(appId, channel, member.userId);
    const node = this.node.id;
    // This node's record takes the join in the same tick (see change()); Redis applies the limit,
    // unless there is no incarnation to ask: then this node decides alone.
    const local = this.local.join(appId, channel, socketId, member, node === undefined ? maxMembers : Infinity);
    const shared = await this.asNode<JoinAnswer>(node, (id) => this.scripts.bcJoin(this.keys.prefix, id, field, encodeMember(member), maxMembers));
    if (shared?.[0] === 0) {
      await this.local.leave(appId, channel, socketId, member.userId);
      // A re-registration in flight may have restored the refused join from the record: redo it.
      if (this.node.id !== node) this.node.markStale();
    }
    if (shared !== undefined) return decodeJoin(shared);
    const joined = await local;
    if (joined.status === 'full') return joined;
    if (joined.firstForUser) this.node.recordOffline(field, { joined: member });
    // Redis failed this join midway: the roster it has if it answers, else this node's.
    return node === undefined ? joined : { ...joined, roster: await this.members(appId, channel) };
  }

  async leave(appId: string, channel: string, socketId: string, userId: string): Promise<boolean> {
    const field = counter.presence(appId, channel, userId);
    const last = this.local.leave(appId, channel, socketId, userId);
    const shared = await this.change(this.node.id, field, -1);
    if (shared !== undefined) return shared[1] === 1;
    if (await last) this.node.recordOffline(field, 'left');
    return last;
  }

  async members(appId: string, channel: string): Promise<Map<string, PresenceMember>> {
    return this.viaRedis(
      async () => {
        const members = new Map<string, PresenceMember>();
        for (const [userId, json] of Object.entries(await this.cmd.hgetall(this.keys.app(appId, 'members', channel)))) {
          members.set(userId, decodeMember(userId, json));
        }
        return members;
      },
      () => this.local.members(appId, channel),
    );
  }

  async addUserSocket(appId: string, userId: string, socketId: string): Promise<void> {
    const local = this.local.addUserSocket(appId, userId, socketId);
    await this.change(this.node.id, counter.user(appId, userId), 1);
    await local;
  }

  async removeUserSocket(appId: string, userId: string, socketId: string): Promise<void> {
    const local = this.local.removeUserSocket(appId, userId, socketId);
    await this.change(this.node.id, counter.user(appId, userId), -1);
    await local;
  }

  async onlineUsers(appId: string, userIds: string[]): Promise<Set<string>> {
    if (userIds.length === 0) return new Set();
    return this.viaRedis(
      async () => {
        const counts = await this.cmd.hmget(this.keys.app(appId, 'users'), ...userIds);
        return new Set(userIds.filter((_, i) => counts[i] !== null));
      },
      () => this.local.onlineUsers(appId, userIds),
    );
  }

  async terminateUser(appId: string, userId: string): Promise<void> {
    const published = await this.viaRedis(
      async () => {
        await this.cmd.publish(this.keys.app(appId, 'bus'), terminateMessage(userId));
        return true;
      },
      async () => false,
    );
    if (!published) await this.local.terminateUser(appId, userId);
  }

  async setCache(appId: string, channel: string, event: string, data: string, ttlSeconds: number): Promise<void> {
    // Kept locally too: a subscriber joining during an outage still gets the last event seen here.
    await this.local.setCache(appId, channel, event, data, ttlSeconds);
    await this.viaRedis(
      async () => void (await this.cmd.set(this.keys.app(appId, 'cache', channel), JSON.stringify([event, data]), 'EX', ttlSeconds)),
      async () => undefined,
    );
  }

  async getCache(appId: string, channel: string): Promise<CachedEvent | undefined> {
    return this.viaRedis(
      async () => {
        const [json, ttlMs] = (await this.scripts.bcGetCache(this.keys.prefix, appId, channel)) as [string | null, number];
        if (json === null || ttlMs <= 0) return undefined;
        const [event, data] = JSON.parse(json) as [string, string];
        return { event, data, ttl: Math.ceil(ttlMs / 1000) };
      },
      () => this.local.getCache(appId, channel),
    );
  }

  // Presence leases and token guards live in Redis only (redis-leases.ts, redis-guards.ts).
  readonly leaseMember: PresenceLeases['leaseMember'] = (...args) => this.leases.leaseMember(...args);
  readonly renewLease: PresenceLeases['renewLease'] = (...args) => this.leases.renewLease(...args);
  readonly releaseLease: PresenceLeases['releaseLease'] = (...args) => this.leases.releaseLease(...args);
  readonly expireLeases: PresenceLeases['expireLeases'] = (...args) => this.leases.expireLeases(...args);
  readonly claimNonce: TokenGuards['claimNonce'] = (...args) => this.guards.claimNonce(...args);
  readonly revokeToken: TokenGuards['revokeToken'] = (...args) => this.guards.revokeToken(...args);
  readonly isRevoked: TokenGuards['isRevoked'] = (...args) => this.guards.isRevoked(...args);
  readonly countHit: TokenGuards['countHit'] = (...args) => this.guards.countHit(...args);

  async connectionOpened(appId: string): Promise<number> {
    const local = this.local.connectionOpened(appId);
    const node = this.node.id;
    // The app's first connection on this node waits until the node hears the app's bus.
    await this.bus.join(appId);
    const shared = await this.change(node, counter.connections(appId), 1);
    return shared?.[0] ?? local;
  }

  async connectionClosed(appId: string): Promise<void> {
    const local = this.local.connectionClosed(appId);
    await this.change(this.node.id, counter.connections(appId), -1);
    await local;
  }
}
