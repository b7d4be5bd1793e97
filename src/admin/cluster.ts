// The admin API across a Redis cluster (docs/PROTOCOL.md §17.1, §17.2): every node's figures and
// every node's activity for the apps someone taps. Keys (documented with the engine's in
// src/engine/redis-keys.ts):
//   {prefix}:admin:nodes        zset    node → deadline (ms): which stats keys to read
//   {prefix}:admin:stats:{node} string  the node's AppShares as JSON with `at`, rewritten every tick, PX 5 s
//   {prefix}:admin:watched      zset    `app \n node \n kind,kind` → deadline (ms): taps open on that node
//   {prefix}:app:{app}:tap      pub/sub the app's activity as TapViews, from every node
// A node publishes an app's activity only in the kinds that ANOTHER node's taps of the app asked
// for (read on the 1 s tick), through one feed sink: its own taps get its own activity directly,
// so a lone tap costs nothing elsewhere, and a message from itself on the channel is dropped
// (exactly once per tap). A node that dies leaves nothing behind for long: its stats key expires
// by itself, and the next tick of any node prunes it from the nodes set, whether or not anyone
// reads the stats.
import type { Redis } from 'ioredis';
import type { ActivityFeed } from '../activity/feed.js';
import type { ActivityKind } from '../activity/types.js';
import { RedisKeys } from '../engine/redis-keys.js';
import { CONNECTION_OPTIONS } from '../engine/redis-options.js';
import type { Logger } from '../logger.js';
import { connectRedis } from '../redis/connect.js';
import type { AppShare } from './node-stats.js';
import type { TapHub } from './tap.js';
import { ALL_KINDS, tapView, type TapView } from './tap.js';

/**
 * A node's stats and an app's watch mark outlive a few missed ticks, not a dead node. Deadlines are
 * the nodes' own clocks (Date.now()): clocks kept in step by NTP are well within this.
 */
const LIVE_MS = 5000;

export interface NodeShare extends AppShare {
  node: string;
  at: number;
}

/** A watch mark: app ids and node ids never contain a newline, kind names never a comma. */
function watchMark(appId: string, node: string, kinds: Iterable<ActivityKind>): string {
  return `${appId}\n${node}\n${[...kinds].sort().join(',')}`;
}

/** The kinds to relay per app: what the watch marks of the other nodes ask for. */
function relayedKinds(marks: string[], self: string): Map<string, Set<ActivityKind>> {
  const relayed = new Map<string, Set<ActivityKind>>();
  for (const mark of marks) {
    const [appId, node, kinds] = mark.split('\n');
    if (node === self || kinds === undefined) continue;
    const wanted = relayed.get(appId) ?? new Set<ActivityKind>();
    for (const kind of kinds.split(',')) wanted.add(kind as ActivityKind);
    relayed.set(appId, wanted);
  }
  return relayed;
}

export class AdminCluster {
  private readonly keys: RedisKeys;
  private readonly cmd: Redis;
  /** The subscriber connection, connecting or ready: opened by the first tap on this node. */
  private sub: Promise<Redis> | undefined;
  /** Apps whose channel SUBSCRIBE succeeded: one that failed (Redis reconnecting) is retried by the next tick. */
  private readonly subscribed = new Set<string>();
  /** This node's last watch mark per tapped app, removed when its taps' kinds change. */
  private marks = new Map<string, string>();
  private relayed = new Map<string, Set<ActivityKind>>();
  /** The relay sink's kinds, joined: the sink is replaced only when they change. */
  private relayKinds = '';
  private removeRelay: (() => void) | undefined;

  constructor(
    private readonly url: string,
    redisPrefix: string,
    private readonly node: string,
    private readonly feed: ActivityFeed,
    private readonly taps: TapHub,
    private readonly log: Logger,
  ) {
    this.keys = new RedisKeys(redisPrefix);
    this.cmd = connectRedis(url, { ...CONNECTION_OPTIONS, connectionName: `broadcasty:admin:${node}` });
    // The tick reports an outage once (AdminNode); ioredis's error events repeat on every retry.
    this.cmd.on('error', (err: unknown) => this.log.debug({ err }, 'admin redis connection error'));
  }

  /** Never fails the start: while Redis is away the connection keeps retrying and the stats and taps show this node alone. */
  async start(): Promise<void> {
    await this.cmd.connect().catch((err: unknown) => this.log.warn({ err }, 'admin stats and taps cannot reach Redis yet'));
  }

  private channel(appId: string): string {
    return this.keys.app(appId, 'tap');
  }

  /** Once a second: this node's figures, its taps' watch marks, and which apps to relay. */
  async tick(shares: Record<string, AppShare>): Promise<void> {
    const now = Date.now();
    const tapped = this.taps.kindsByApp();
    const { keys } = this;
    const batch = this.cmd.multi();
    batch.set(keys.adminStats(this.node), JSON.stringify({ at: now, apps: shares }), 'PX', LIVE_MS);
    batch.zadd(keys.adminNodes, now + LIVE_MS, this.node);
    batch.zremrangebyscore(keys.adminNodes, '-inf', now);
    const marks = new Map([...tapped].map(([appId, kinds]) => [appId, watchMark(appId, this.node, kinds)]));
    for (const mark of marks.values()) batch.zadd(keys.adminWatched, now + LIVE_MS, mark);
    // A mark whose kinds changed goes at once; one of an app no longer tapped expires (LIVE_MS).
    for (const [appId, mark] of marks) {
      const previous = this.marks.get(appId);
      if (previous !== undefined && previous !== mark) batch.zrem(keys.adminWatched, previous);
    }
    batch.zremrangebyscore(keys.adminWatched, '-inf', now);
    batch.zrange(keys.adminWatched, 0, -1);
    const results = await batch.exec();
    this.marks = marks;
    const watched = results?.[results.length - 1]?.[1];
    this.relay(relayedKinds(Array.isArray(watched) ? (watched as string[]) : [], this.node));
    await this.follow(new Set(tapped.keys()));
  }

  /**
   * A tap is about to open here: mark the app watched now rather than on the next tick, and listen to
   * its channel. Its kinds are not known yet (the tap opens once answered): the mark asks for all,
   * and this node's next tick narrows it to what its taps asked for.
   */
  async watch(appId: string): Promise<void> {
    const mark = watchMark(appId, this.node, ALL_KINDS);
    await this.cmd.zadd(this.keys.adminWatched, Date.now() + LIVE_MS, mark);
    this.marks.set(appId, mark);
    await this.follow(new Set([...this.subscribed, appId]));
  }

  /** Every live node's share of the app; this node's from `own` (fresher than its last tick). */
  async shares(appId: string, own: AppShare): Promise<NodeShare[]> {
    const now = Date.now();
    const nodes: NodeShare[] = [{ node: this.node, at: now, ...own }];
    const others = (await this.cmd.zrangebyscore(this.keys.adminNodes, now, '+inf')).filter((node) => node !== this.node);
    if (others.length === 0) return nodes;
    // A key gone since the node was listed (it just died) reads as null: skipped.
    const snapshots = await this.cmd.mget(...others.map((node) => this.keys.adminStats(node)));
    snapshots.forEach((json, i) => {
      const snapshot = json === null ? undefined : (JSON.parse(json) as { at: number; apps: Record<string, AppShare> });
      const share = snapshot?.apps[appId];
      if (snapshot !== undefined && share !== undefined) nodes.push({ node: others[i], at: snapshot.at, ...share });
    });
    return nodes;
  }

  async stop(): Promise<void> {
    this.removeRelay?.();
    this.removeRelay = undefined;
    await this.cmd.multi().del(this.keys.adminStats(this.node)).zrem(this.keys.adminNodes, this.node).exec().catch(() => undefined);
    await Promise.allSettled([this.cmd.quit(), this.sub?.then((sub) => sub.quit())]);
  }

  /**
   * One feed sink publishing, per app, the kinds other nodes' taps watch; its kinds are their union,
   * so an emitter builds nothing no tap elsewhere asked for. None while no other node taps.
   */
  private relay(relayed: Map<string, Set<ActivityKind>>): void {
    this.relayed = relayed;
    const kinds = [...new Set([...relayed.values()].flatMap((wanted) => [...wanted]))].sort();
    if (kinds.join(',') === this.relayKinds) return;
    this.relayKinds = kinds.join(',');
    this.removeRelay?.();
    this.removeRelay = undefined;
    if (kinds.length === 0) return;
    this.removeRelay = this.feed.add({
      kinds,
      accept: (activity) => {
        // While Redis is away the activity is not relayed (the local taps still see theirs).
        if (activity.appId === undefined || this.relayed.get(activity.appId)?.has(activity.kind) !== true || this.cmd.status !== 'ready') return;
        this.cmd.publish(this.channel(activity.appId), JSON.stringify(tapView(activity, this.node))).catch((err: unknown) => this.log.debug({ err }, 'tap relay publish failed'));
      },
    });
  }

  /** Subscribes the channels of the apps tapped here and leaves the others; the subscriber connection opens on first use. */
  private async follow(apps: Set<string>): Promise<void> {
    const join = [...apps].filter((a) => !this.subscribed.has(a));
    const leave = [...this.subscribed].filter((a) => !apps.has(a));
    // Recorded only once Redis confirmed: a SUBSCRIBE refused while reconnecting (no offline queue)
    // stays missing, so the next tick sends it again; ioredis resubscribes only confirmed channels.
    if (join.length > 0) {
      await (await this.subscriber()).subscribe(...join.map((a) => this.channel(a)));
      for (const appId of join) this.subscribed.add(appId);
    }
    if (leave.length > 0 && this.sub !== undefined) {
      await (await this.sub).unsubscribe(...leave.map((a) => this.channel(a)));
      for (const appId of leave) this.subscribed.delete(appId);
    }
  }

  private subscriber(): Promise<Redis> {
    this.sub ??= this.openSubscriber();
    return this.sub;
  }

  /** A failed first connect is forgotten: the next tick or tap tries a fresh connection. */
  private async openSubscriber(): Promise<Redis> {
    const sub = connectRedis(this.url, { ...CONNECTION_OPTIONS, connectionName: `broadcasty:admin-tap:${this.node}` });
    sub.on('message', (_channel: string, message: string) => this.received(message));
    sub.on('error', (err: unknown) => this.log.debug({ err }, 'admin tap redis connection error'));
    try {
      // autoResubscribe (ioredis's default) brings the channels back after a reconnect.
      await sub.connect();
      return sub;
    } catch (error) {
      sub.disconnect();
      this.sub = undefined;
      throw error;
    }
  }

  private received(message: string): void {
    let view: TapView;
    try {
      view = JSON.parse(message) as TapView;
    } catch {
      return;
    }
    if (view.node !== this.node) this.taps.deliver(view, message);
  }
}
