// The webhooks and subscription_count a dead node's sockets would have caused had they left
// normally (PROTOCOL.md §6, §2.12). The engine reports them once, from the node that cleaned up.
import { channelType } from '../../protocol/index.js';
import type { App } from '../apps/registry.js';
import type { ServerContext } from '../context.js';
import type { Departures } from '../engine/types.js';
import type { SubscriptionCounts } from './subscription-counts.js';

export class DepartureEffects implements Departures {
  constructor(
    private readonly ctx: ServerContext,
    private readonly counts: SubscriptionCounts,
  ) {}

  memberLeft(appId: string, channel: string, userId: string): void {
    this.withApp(appId, (app) => this.ctx.observer.memberRemoved(app, channel, userId));
  }

  subscribersLeft(appId: string, channel: string, remaining: number): void {
    this.withApp(appId, (app) => {
      if (remaining === 0) this.ctx.observer.channelVacated(app, channel);
      // Presence channels report members, not counts (as a leave on this node does).
      if (channelType(channel).kind !== 'presence') this.counts.changed(app, channel, remaining);
    });
  }

  private withApp(appId: string, effect: (app: App) => void): void {
    this.ctx.registry.findById(appId).then(
      (app) => app !== undefined && effect(app),
      (error: unknown) => this.ctx.log.error({ err: error, appId }, 'cannot report the leaves of a dead node: app lookup failed'),
    );
  }
}
