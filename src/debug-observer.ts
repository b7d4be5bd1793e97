// Debug mode (--debug, BROADCASTY_DEBUG=1): channel life and client events as one log line each,
// hung on the ChannelObserver hook so the subscribe and publish paths carry no logging of their
// own. Only wired when the level is debug; payloads are never logged, only their size.
import type { App } from './apps/registry.js';
import type { Logger } from './logger.js';
import type { ChannelObserver, ClientEventInfo } from './publish/observer.js';

export class DebugObserver implements ChannelObserver {
  constructor(private readonly log: Logger) {}

  channelOccupied(app: App, channel: string): void {
    this.log.debug({ appId: app.id, channel }, 'channel occupied');
  }
  channelVacated(app: App, channel: string): void {
    this.log.debug({ appId: app.id, channel }, 'channel vacated');
  }
  memberAdded(app: App, channel: string, userId: string): void {
    this.log.debug({ appId: app.id, channel, userId }, 'presence member added');
  }
  memberRemoved(app: App, channel: string, userId: string): void {
    this.log.debug({ appId: app.id, channel, userId }, 'presence member removed');
  }
  clientEvent(app: App, event: ClientEventInfo): void {
    this.log.debug({ appId: app.id, socketId: event.socketId, channel: event.channel, event: event.event, bytes: Buffer.byteLength(event.data), userId: event.userId }, 'client event relayed');
  }
  cacheMiss(app: App, channel: string): void {
    this.log.debug({ appId: app.id, channel }, 'cache miss');
  }
  subscriptionCount(app: App, channel: string, count: number): void {
    this.log.debug({ appId: app.id, channel, count }, 'subscription count');
  }
}
