// The one publish pipeline (docs/PROTOCOL.md §2.8, §2.10, §5.3, §5.4): HTTP events, batch_events
// items and client events (JWT publishes next) pass the same stages in the same order.
//
//   authorize   HTTP: the route's `auth` (src/auth/) — an app's own signature may publish on
//               every channel; client events: publish/client-events.ts — the app allows them
//               and the socket holds a private or presence subscription
//   rate limit  HTTP: per request, at the route (httpRateLimit); client events: per socket
//   validate    HTTP: api/event-input.ts; client events: name length and data size
//   (idempotency, next issue: between the checks and `deliver`, before any subscriber sees it)
//   deliver     cache store, the frame encoded once per channel, engine.publish → position
//   after       every AfterPublish hook registered at wiring time, once per channel
//
// The checks run authorize → rate limit → validate because that is the order clients have
// always seen: 401/403 before 429 before 400/413 (an unsigned body is never parsed), and
// docs/PROTOCOL.md §2.8's order for client events.
import { channelType, encodeEvent } from '../../protocol/index.js';
import type { App } from '../apps/registry.js';
import type { Engine, Publication } from '../engine/types.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { AfterPublish, Position, PublishedEvent, PublishSource } from './types.js';

/** A validated HTTP event (one trigger, or one batch item). */
export interface ServerEvent {
  name: string;
  data: string;
  /** UTF-8 bytes of `data`, measured by the size check. */
  dataBytes: number;
  channels: string[];
  socketId?: string;
  /** Chooses the partition on partitioned history channels (docs/PROTOCOL.md §13.4). */
  partitionKey?: string;
}

/** The actor of HTTP API publishes: the app itself, proven by its secret. */
const APP_ACTOR = 'app';

/**
 * One event on one channel, built once: the engine's Publication and, after the engine answered,
 * the hooks' PublishedEvent — the one object per channel publish the Publication alone was before.
 */
class ChannelPublish implements Publication, PublishedEvent {
  readonly appId: string;
  readonly frame: string;
  /** Publishers that wait for an answer (the HTTP API) are never served a this-node-only delivery during a Redis outage. */
  readonly durable: boolean;
  position!: Position;

  constructor(
    readonly app: App,
    readonly channel: string,
    readonly event: string,
    readonly data: string,
    readonly dataBytes: number,
    readonly source: PublishSource,
    readonly actor: string,
    readonly exceptSocketId: string | undefined,
    readonly userId: string | undefined,
  ) {
    this.appId = app.id;
    this.durable = source !== 'client';
    this.frame = encodeEvent(event, data, channel, userId);
  }
}

export class PublishPipeline {
  constructor(
    private readonly engine: Engine,
    private readonly metrics: Metrics,
    private readonly hooks: readonly AfterPublish[],
    private readonly log: Logger,
  ) {}

  /** POST /events: the route authenticated the app and counted the request; parseTrigger validated the event. */
  async publishEvent(app: App, event: ServerEvent): Promise<void> {
    const started = performance.now();
    const { channels } = event;
    if (channels.length === 1) await this.deliverServerEvent(app, event, channels[0]);
    else await Promise.all(channels.map((channel) => this.deliverServerEvent(app, event, channel)));
    this.metrics.forApp(app.id).publishLatency.observe((performance.now() - started) / 1000);
  }

  /** POST /batch_events: every item validated before any is published (§5.4), then all at once. */
  async publishBatch(app: App, events: readonly ServerEvent[]): Promise<void> {
    await Promise.all(events.map((event) => this.publishEvent(app, event)));
  }

  /** A client-* frame that passed publish/client-events.ts's checks; never stored in a cache channel (§2.8). */
  relayClientEvent(app: App, channel: string, event: string, data: string, dataBytes: number, socketId: string, userId: string | undefined): Promise<void> {
    return this.deliver(new ChannelPublish(app, channel, event, data, dataBytes, 'client', socketId, socketId, userId), false);
  }

  private deliverServerEvent(app: App, event: ServerEvent, channel: string): Promise<void> {
    const publish = new ChannelPublish(app, channel, event.name, event.data, event.dataBytes, 'http', APP_ACTOR, event.socketId, undefined);
    return this.deliver(publish, channelType(channel).cache);
  }

  private async deliver(publish: ChannelPublish, cache: boolean): Promise<void> {
    if (cache) await this.engine.setCache(publish.appId, publish.channel, publish.event, publish.data, publish.app.cacheTtl);
    publish.position = await this.engine.publish(publish);
    for (const hook of this.hooks) {
      // A failing hook must neither fail a publish subscribers already got nor starve the others.
      try {
        hook.published(publish);
      } catch (error) {
        this.log.error({ err: error, appId: publish.appId, channel: publish.channel, source: publish.source }, 'after-publish hook failed');
      }
    }
  }
}
