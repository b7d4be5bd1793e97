// The after-publish hooks every server registers (server.ts); push, the console tap and audit
// add theirs the same way.
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ChannelObserver } from './observer.js';
import type { AfterPublish, PublishedEvent } from './types.js';

/** broadcasty_publishes_total{source}: one per event per channel. */
export class PublishCounter implements AfterPublish {
  constructor(private readonly metrics: Metrics) {}

  published(event: PublishedEvent): void {
    const m = this.metrics.forApp(event.app.id);
    (event.source === 'client' ? m.clientEventPublishes : m.httpPublishes).inc();
  }
}

/** Client events reach the observers' clientEvent: the client_event webhook (docs/PROTOCOL.md §6.2) and debug mode. */
export class ClientEventReport implements AfterPublish {
  constructor(private readonly observer: ChannelObserver) {}

  published(event: PublishedEvent): void {
    if (event.source !== 'client') return;
    this.observer.clientEvent(event.app, { channel: event.channel, event: event.event, data: event.data, socketId: event.actor, userId: event.userId });
  }
}

/** Debug mode: one line per event per channel — who published, who was left out, the position; never the data. */
export class PublishLog implements AfterPublish {
  constructor(private readonly log: Logger) {}

  published(event: PublishedEvent): void {
    this.log.debug(
      { appId: event.app.id, channel: event.channel, event: event.event, bytes: event.dataBytes, source: event.source, actor: event.actor, exceptSocketId: event.exceptSocketId, position: event.position },
      'published',
    );
  }
}
