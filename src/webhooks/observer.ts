// Channel life → webhook events (docs/PROTOCOL.md §6.2, §6.4). Each call builds the event, picks the
// lanes of the targets that want it and hands it to the queue: O(targets), no I/O awaited, so
// the subscribe and publish paths never wait on webhooks.
// channel_vacated / member_removed are held for the delay; channel_occupied / member_added for
// the same channel (and user) cancel a held one and are themselves dropped, so a reconnect
// within the delay is reported as nothing at all, as hosted Pusher does.
import {
  channelWebhook,
  clientEventWebhook,
  memberWebhook,
  subscriptionCountWebhook,
  type WebhookEvent,
} from '../../protocol/index.js';
import type { App } from '../apps/registry.js';
import type { ChannelObserver, ClientEventInfo } from '../publish/observer.js';
import type { WebhookQueue } from './queue.js';
import type { TargetTable } from './targets.js';

const vacateKey = (channel: string) => `vacated\u0000${channel}`;
const removeKey = (channel: string, userId: string) => `removed\u0000${channel}\u0000${userId}`;

export class WebhookObserver implements ChannelObserver {
  constructor(
    private readonly queue: WebhookQueue,
    private readonly targets: TargetTable,
    private readonly delayMs: number,
  ) {}

  channelOccupied(app: App, channel: string): void {
    this.now(app, channelWebhook('channel_occupied', channel), vacateKey(channel));
  }

  channelVacated(app: App, channel: string): void {
    this.later(app, channelWebhook('channel_vacated', channel), vacateKey(channel));
  }

  memberAdded(app: App, channel: string, userId: string): void {
    this.now(app, memberWebhook('member_added', channel, userId), removeKey(channel, userId));
  }

  memberRemoved(app: App, channel: string, userId: string): void {
    this.later(app, memberWebhook('member_removed', channel, userId), removeKey(channel, userId));
  }

  clientEvent(app: App, e: ClientEventInfo): void {
    this.now(app, clientEventWebhook(e.channel, e.event, e.data, e.socketId, e.userId));
  }

  cacheMiss(app: App, channel: string): void {
    this.now(app, channelWebhook('cache_miss', channel));
  }

  subscriptionCount(app: App, channel: string, count: number): void {
    this.now(app, subscriptionCountWebhook(channel, count));
  }

  private now(app: App, event: WebhookEvent, cancelKey?: string): void {
    if (app.webhooks.length === 0) return;
    const lanes = this.targets.lanesFor(app, event);
    // With no delay nothing is ever held, so there is nothing to cancel.
    const cancel = this.delayMs > 0 ? cancelKey : undefined;
    // Even with no target for this event, it still cancels a held vacate/remove that one wants.
    if (lanes.length === 0 && cancel === undefined) return;
    this.queue.push(app.id, lanes, { t: Date.now(), e: event }, cancel);
  }

  private later(app: App, event: WebhookEvent, cancelKey: string): void {
    if (app.webhooks.length === 0) return;
    if (this.delayMs === 0) {
      this.now(app, event);
      return;
    }
    // Held even when no target wants it: its presence is what cancels the rejoin's event.
    const t = Date.now();
    this.queue.delay(app.id, cancelKey, t + this.delayMs, this.targets.lanesFor(app, event), { t, e: event });
  }
}
