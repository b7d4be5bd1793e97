// The webhooks and subscription_count that sockets would have caused had they joined or left
// normally, for changes that came from a node dying or coming back (docs/PROTOCOL.md §6, §2.12). The
// engine reports each once, from the node that saw it.
import { channelType } from '../../protocol/index.js';
import type { App } from '../apps/registry.js';
import type { ChannelContext } from '../context.js';
import type { ClusterChanges } from '../engine/types.js';
import type { SubscriptionCounts } from './subscription-counts.js';

export class ClusterChangeEffects implements ClusterChanges {
  constructor(
    private readonly ctx: ChannelContext,
    private readonly counts: SubscriptionCounts,
  ) {}

  memberLeft(appId: string, channel: string, userId: string): void {
    this.withApp(appId, (app) => this.ctx.observer.memberRemoved(app, channel, userId));
  }

  memberReturned(appId: string, channel: string, userId: string): void {
    this.withApp(appId, (app) => this.ctx.observer.memberAdded(app, channel, userId));
  }

  subscribersChanged(appId: string, channel: string, total: number, crossedZero: boolean): void {
    this.withApp(appId, (app) => {
      if (crossedZero) {
        if (total === 0) this.ctx.observer.channelVacated(app, channel);
        else this.ctx.observer.channelOccupied(app, channel);
      }
      // Presence channels report members, not counts (as a join or leave on this node does).
      if (channelType(channel).kind !== 'presence') this.counts.changed(app, channel, total);
    });
  }

  private withApp(appId: string, effect: (app: App) => void): void {
    this.ctx.registry.findById(appId).then(
      (app) => app !== undefined && effect(app),
      (error: unknown) => this.ctx.log.error({ err: error, appId }, 'cannot report a cluster change: app lookup failed'),
    );
  }
}
