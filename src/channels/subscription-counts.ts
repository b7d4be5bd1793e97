// Opt-in pusher_internal:subscription_count (docs/PROTOCOL.md §2.12): sent on every change, but for
// channels above 100 subscribers coalesced to one message per flush interval (5 s).
import { subscriptionCount } from '../../protocol/index.js';
import type { App } from '../apps/registry.js';
import type { Engine } from '../engine/types.js';
import { announce } from '../publish/announce.js';
import type { ChannelObserver } from '../publish/observer.js';

const COALESCE_ABOVE = 100;

export class SubscriptionCounts {
  private readonly dirty = new Map<string, { app: App; channel: string }>();

  constructor(
    private readonly engine: Engine,
    private readonly observer: ChannelObserver,
  ) {}

  changed(app: App, channel: string, count: number): void {
    if (!app.subscriptionCount) return;
    if (count > COALESCE_ABOVE) {
      this.dirty.set(`${app.id}\u0000${channel}`, { app, channel });
      return;
    }
    void this.announce(app, channel, count);
  }

  /** Called by the server's ticker every 5 s. */
  async flush(): Promise<void> {
    const pending = [...this.dirty.values()];
    this.dirty.clear();
    for (const { app, channel } of pending) await this.announce(app, channel, await this.engine.subscriptionCount(app.id, channel));
  }

  private async announce(app: App, channel: string, count: number): Promise<void> {
    this.observer.subscriptionCount(app, channel, count);
    if (count === 0) return;
    await announce(this.engine, app.id, channel, subscriptionCount(channel, count));
  }
}
