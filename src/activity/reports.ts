// The activity the publish path and the channel observer already see, handed to the feed only
// while someone watches that kind (types.ts): publishes, presence members.
import type { App } from '../apps/registry.js';
import type { ChannelObserver } from '../publish/observer.js';
import type { AfterPublish, PublishedEvent } from '../publish/types.js';
import type { ActivityFeed } from './feed.js';

export class PublishActivityReport implements AfterPublish {
  constructor(private readonly feed: ActivityFeed) {}

  published(event: PublishedEvent): void {
    if (!this.feed.wants.publish) return;
    this.feed.emit({
      kind: 'publish',
      appId: event.app.id,
      channel: event.channel,
      event: event.event,
      bytes: event.dataBytes,
      data: event.data,
      source: event.source,
      actor: event.actor,
    });
  }
}

/** Member events only; the rest of the observer interface is channel bookkeeping nobody taps. */
export class MemberActivityReport implements ChannelObserver {
  constructor(private readonly feed: ActivityFeed) {}

  memberAdded(app: App, channel: string, userId: string): void {
    if (this.feed.wants.member_added) this.feed.emit({ kind: 'member_added', appId: app.id, channel, userId });
  }
  memberRemoved(app: App, channel: string, userId: string): void {
    if (this.feed.wants.member_removed) this.feed.emit({ kind: 'member_removed', appId: app.id, channel, userId });
  }
  channelOccupied(): void {}
  channelVacated(): void {}
  clientEvent(): void {}
  cacheMiss(): void {}
  subscriptionCount(): void {}
}
