// The admin API across a Redis cluster (docs/PROTOCOL.md §17.1, §17.2): every node's figures and
// every node's activity for the apps someone taps. Keys (documented with the engine's in
// src/engine/redis-keys.ts):
//   {prefix}:admin:nodes        zset    node → deadline (ms): which stats keys to read
//   {prefix}:admin:stats:{node} string  the node's AppShares as JSON with `at`, rewritten every tick, PX 5 s
//   {prefix}:admin:watched      zset    app → deadline (ms): a tap is open on some node
//   {prefix}:app:{app}:tap      pub/sub the app's activity as TapViews, from every node
// A node publishes an app's activity only while the app is watched (checked on the 1 s tick),
// through one feed sink for every watched app; its own taps get its own activity directly, so a
// message from itself on the channel is dropped (exactly once per tap). A node that dies leaves
// nothing behind for long: its stats key expires by itself, and the next tick of any node prunes
// it from the nodes set, whether or not anyone reads the stats.
import type { Redis } from 'ioredis';
import type { ActivityFeed } from '../activity/feed.js';
import { CONNECTION_OPTIONS } from '../engine/redis-options.js';
import type { Logger } from '../logger.js';
import { connectRedis } from '../redis/connect.js';
import { taggedPrefix } from '../redis/keys.js';
import type { AppShare } from './node-stats.js';
import { ALL_KINDS, tapView, type TapHub, type TapView } from './tap.js';

/**
 * A node's stats and an app's watch mark outlive a few missed ticks, not a dead node. Deadlines are
 * the nodes' own clocks (Date.now()): clocks kept in step by NTP are well within this.
 */
const LIVE_MS = 5000;

export interface NodeShare extends AppShare {
  node: string;
  at: number;
}

export class AdminCluster {
  private readonly nodesKey: string;
  private readonly watchedKey: string;
  private readonly cmd: Redis;
  /** The subscriber connection, connecting or ready: opened by the first tap on this node. */
  private sub: Promise<Redis> | undefined;
  private subscribed = new Set<string>();
  private watched = new Set<string>();
  private removeRelay: (() => void) | undefined;
  private readonly prefix: string;

  constructor(
    private readonly url: string,
    redisPrefix: string,
    private readonly node: string,
    private readonly feed: ActivityFeed,
    private readonly taps: TapHub,
    private readonly log: Logger,
  ) {
    this.prefix = taggedPrefix(redisPrefix);
    this.nodesKey = `${this.prefix}:admin:nodes`;
    this.watchedKey = `${this.prefix}:admin:watched`;
    this.cmd = connectRedis(url, { ...CONNECTION_OPTIONS, connectionName: `broadcasty:admin:${node}` });
    // The tick reports an outage once (AdminNode); ioredis's error events repeat on every retry.
    this.cmd.on('error', (err: unknown) => this.log.debug({ err }, 'admin redis connection error'));
  }

  /** Never fails the start: while Redis is away the connection keeps retrying and the stats and taps show this node alone. */
  async start(): Promise<void> {
    await this.cmd.connect().catch((err: unknown) => this.log.warn({ err }, 'admin stats and taps cannot reach Redis yet'));
  }

  private statsKey(node: string): string {
    return `${this.prefix}:admin:stats:${node}`;
  }

  private channel(appId: string): string {
    return `${this.prefix}:app:${appId}:tap`;
  }

  /** Once a second: this node's figures, its taps' watch marks, and which apps to relay. */
  async tick(shares: Record<string, AppShare>): Promise<void> {
    const now = Date.now();
    const tapped = this.taps.apps();
    const batch = this.cmd.multi();
    batch.set(this.statsKey(this.node), JSON.stringify({ at: now, apps: shares }), 'PX', LIVE_MS);
    batch.zadd(this.nodesKey, now + LIVE_MS, this.node);
    batch.zremrangebyscore(this.nodesKey, '-inf', now);
    for (const appId of tapped) batch.zadd(this.watchedKey, now + LIVE_MS, appId);
    batch.zremrangebyscore(this.watchedKey, '-inf', now);
    batch.zrange(this.watchedKey, 0, -1);
    const results = await batch.exec();
    const watched = results?.[results.length - 1]?.[1];
    this.relay(new Set(Array.isArray(watched) ? (watched as string[]) : []));
    await this.follow(tapped);
  }

  /** A tap opened here: mark the app watched now rather than on the next tick, and listen to its channel. */
  async watch(appId: string): Promise<void> {
    await this.cmd.zadd(this.watchedKey, Date.now() + LIVE_MS, appId);
    this.relay(new Set([...this.watched, appId]));
    await this.follow(new Set([...this.subscribed, appId]));
  }

  /** Every live node's share of the app; this node's from `own` (fresher than its last tick). */
  async shares(appId: string, own: AppShare): Promise<NodeShare[]> {
    const now = Date.now();
    const nodes: NodeShare[] = [{ node: this.node, at: now, ...own }];
    const others = (await this.cmd.zrangebyscore(this.nodesKey, now, '+inf')).filter((node) => node !== this.node);
    if (others.length === 0) return nodes;
    // A key gone since the node was listed (it just died) reads as null: skipped.
    const snapshots = await this.cmd.mget(...others.map((node) => this.statsKey(node)));
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
    await this.cmd.multi().del(this.statsKey(this.node)).zrem(this.nodesKey, this.node).exec().catch(() => undefined);
    await Promise.allSettled([this.cmd.quit(), this.sub?.then((sub) => sub.quit())]);
  }

  /** One feed sink publishing the activity of the watched apps; none while no app is watched. */
  private relay(watched: Set<string>): void {
    this.watched = watched;
    if (watched.size === 0) {
      this.removeRelay?.();
      this.removeRelay = undefined;
    } else if (this.removeRelay === undefined) {
      this.removeRelay = this.feed.add({
        kinds: ALL_KINDS,
        accept: (activity) => {
          // While Redis is away the activity is not relayed (the local taps still see theirs).
          if (activity.appId === undefined || !this.watched.has(activity.appId) || this.cmd.status !== 'ready') return;
          this.cmd.publish(this.channel(activity.appId), JSON.stringify(tapView(activity, this.node))).catch((err: unknown) => this.log.debug({ err }, 'tap relay publish failed'));
        },
      });
    }
  }

  /** Subscribes the channels of the apps tapped here and leaves the others; the subscriber connection opens on first use. */
  private async follow(apps: Set<string>): Promise<void> {
    const join = [...apps].filter((a) => !this.subscribed.has(a));
    const leave = [...this.subscribed].filter((a) => !apps.has(a));
    this.subscribed = new Set(apps);
    if (join.length > 0) await (await this.subscriber()).subscribe(...join.map((a) => this.channel(a)));
    if (leave.length > 0 && this.sub !== undefined) await (await this.sub).unsubscribe(...leave.map((a) => this.channel(a)));
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
      this.subscribed.clear();
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
    if (view.node !== this.node) this.taps.deliver(view);
  }
}
