// This server's admin side: its node id, its taps, its figures, and the cluster part when Redis is
// configured. Built once in server.ts, ticked by the server's 1 s sweep, stopped at shutdown.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { refusalReason } from '../activity/auth-failures.js';
import type { ActivityKind } from '../activity/types.js';
import type { ServerContext } from '../context.js';
import type { HttpRequest } from '../transport/types.js';
import { AdminAccess, type AdminActor } from './access.js';
import type { AdminCluster, NodeShare } from './cluster.js';
import { NodeStats, noConnections, type ByTransport } from './node-stats.js';
import { TapHub, type Tap } from './tap.js';

/** The hub, plus what the cluster's watch marks carry (cluster.ts): each tapped app's kinds. */
export class WatchedTapHub extends TapHub {
  private opened: Tap[] = [];

  override open(tap: Tap): void {
    this.opened = [...this.opened, tap];
    super.open(tap);
  }

  override close(tap: Tap): void {
    this.opened = this.opened.filter((t) => t !== tap);
    super.close(tap);
  }

  /** Apps with at least one open tap here, each with the kinds its taps asked for. */
  kindsByApp(): Map<string, Set<ActivityKind>> {
    const apps = new Map<string, Set<ActivityKind>>();
    for (const tap of this.opened) apps.set(tap.appId, new Set([...(apps.get(tap.appId) ?? []), ...tap.kinds]));
    return apps;
  }
}

export class AdminNode {
  /** Names this process in the stats' `nodes` and on every tapped activity. */
  readonly id = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  readonly access: AdminAccess;
  readonly taps: WatchedTapHub;
  private readonly stats: NodeStats;
  private cluster: AdminCluster | undefined;
  private ticking = false;
  /** The last cluster tick failed (Redis out of reach): warned once, not every second. */
  private tickFailing = false;

  constructor(private readonly ctx: ServerContext) {
    this.access = new AdminAccess(ctx.config);
    this.taps = new WatchedTapHub(ctx.activity, this.id);
    this.stats = new NodeStats(ctx.hub.connections, ctx.metrics);
  }

  async start(): Promise<void> {
    const { config, log } = this.ctx;
    if (this.access.tokenless && !this.access.shut) log.warn('the admin API and the console answer loopback requests without a token: set adminToken (BROADCASTY_ADMIN_TOKEN) to use them from elsewhere');
    if (config.redisUrl === undefined) return;
    const { AdminCluster } = await import('./cluster.js');
    this.cluster = new AdminCluster(config.redisUrl, config.redisPrefix, this.id, this.ctx.activity, this.taps, log);
    await this.cluster.start();
  }

  /** The server's 1 s sweep: publish-rate samples, and in a cluster this node's snapshot and watch marks. */
  tick(): void {
    this.stats.tick();
    if (this.cluster === undefined || this.ticking) return;
    this.ticking = true;
    this.cluster
      .tick(this.stats.shares())
      .then(
        () => {
          if (this.tickFailing) this.ctx.log.info('admin stats and taps reach Redis again');
          this.tickFailing = false;
        },
        (err: unknown) => {
          if (!this.tickFailing) this.ctx.log.warn({ err }, 'admin stats and taps cannot reach Redis: stats show this node only, taps this node\'s activity');
          this.tickFailing = true;
        },
      )
      .finally(() => (this.ticking = false));
  }

  /** A tap opened here: in a cluster the other nodes start relaying the app's activity. */
  async watched(appId: string): Promise<void> {
    // Without Redis the tap still shows this node's activity; the tick retries the watch mark.
    await this.cluster?.watch(appId).catch((err: unknown) => this.ctx.log.warn({ err, appId }, 'could not mark the app watched in Redis'));
  }

  /** Every live node's share; this node's alone while Redis is out of reach. */
  async nodeShares(appId: string): Promise<NodeShare[]> {
    const own = this.stats.share(appId);
    const alone = [{ node: this.id, at: Date.now(), ...own }];
    if (this.cluster === undefined) return alone;
    return this.cluster.shares(appId, own).catch(() => alone);
  }

  emptyTransports(): ByTransport {
    return noConnections();
  }

  /** The webhook queue gauge's value, as /metrics shows it. */
  async webhookQueueDepth(): Promise<number> {
    const gauge = this.ctx.metrics.registry.getSingleMetric('broadcasty_webhook_queue_depth');
    const value = gauge === undefined ? undefined : await gauge.get();
    return value?.values[0]?.value ?? 0;
  }

  /** An `admin` activity, for whoever watches. */
  record(appId: string, actor: AdminActor, action: string, target: string, request: HttpRequest): void {
    if (this.ctx.activity.wants.admin) this.ctx.activity.emit({ kind: 'admin', appId, action, actor: actor.name, target, ip: request.remoteAddress });
  }

  /** A refused admin token, for whoever watches. */
  refused(reason: string, request: HttpRequest): void {
    if (this.ctx.activity.wants.auth_failure) this.ctx.activity.emit({ kind: 'auth_failure', surface: 'admin', reason: refusalReason(reason), ip: request.remoteAddress });
  }

  async stop(): Promise<void> {
    await this.cluster?.stop();
  }
}
