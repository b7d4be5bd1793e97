// Side effects of channel life (webhooks, metrics, audit) hang off this one interface, so the
// subscribe and publish paths never know who listens.
import type { App } from '../apps/registry.js';

export interface ClientEventInfo {
  channel: string;
  event: string;
  data: string;
  socketId: string;
  userId?: string;
}

export interface ChannelObserver {
  channelOccupied(app: App, channel: string): void;
  channelVacated(app: App, channel: string): void;
  memberAdded(app: App, channel: string, userId: string): void;
  memberRemoved(app: App, channel: string, userId: string): void;
  clientEvent(app: App, event: ClientEventInfo): void;
  cacheMiss(app: App, channel: string): void;
  subscriptionCount(app: App, channel: string, count: number): void;
}

export class ObserverFanout implements ChannelObserver {
  constructor(private readonly observers: ChannelObserver[]) {}
  channelOccupied(app: App, channel: string): void {
    for (const o of this.observers) o.channelOccupied(app, channel);
  }
  channelVacated(app: App, channel: string): void {
    for (const o of this.observers) o.channelVacated(app, channel);
  }
  memberAdded(app: App, channel: string, userId: string): void {
    for (const o of this.observers) o.memberAdded(app, channel, userId);
  }
  memberRemoved(app: App, channel: string, userId: string): void {
    for (const o of this.observers) o.memberRemoved(app, channel, userId);
  }
  clientEvent(app: App, event: ClientEventInfo): void {
    for (const o of this.observers) o.clientEvent(app, event);
  }
  cacheMiss(app: App, channel: string): void {
    for (const o of this.observers) o.cacheMiss(app, channel);
  }
  subscriptionCount(app: App, channel: string, count: number): void {
    for (const o of this.observers) o.subscriptionCount(app, channel, count);
  }
}
