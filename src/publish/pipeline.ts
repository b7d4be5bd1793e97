// The one publish pipeline (docs/PROTOCOL.md §2.8, §2.10, §5.3, §5.4): HTTP events, batch_events
// items, client events and JWT publishes (api/broadcasty/publish.ts) pass the same stages in the same order.
//
//   authorize   HTTP: the route's `auth` (src/auth/) — an app's own signature may publish on
//               every channel; client events: publish/client-events.ts — the app allows them
//               and the socket holds a private or presence subscription
//   rate limit  HTTP: per request, at the route (httpRateLimit); client events: per socket
//   validate    HTTP: api/event-input.ts; client events: name length and data size
//   idempotency HTTP with a key: api/idempotency.ts, before any subscriber sees the event
//   deliver     cache store, the frame encoded once per channel, engine.publish → position; on a
//               history channel (history/rules.ts) the engine gets the frame without its end and
//               the stream, sequences, stores and completes it (docs/PROTOCOL.md §13.2)
//   after       every AfterPublish hook registered at wiring time, once per channel
//
// An HTTP publish hands its request span (api/publish-span.ts) down as the parent of a
// `broadcasty.engine.publish` span per channel; nothing is built for it while tracing is off.
//
// The checks run authorize → rate limit → validate because that is the order clients have
// always seen: 401/403 before 429 before 400/413 (an unsigned body is never parsed), and
// docs/PROTOCOL.md §2.8's order for client events.
import { channelType, encodeEvent, encodeOpenEvent, type FramePosition } from '../../protocol/index.js';
import type { App } from '../apps/registry.js';
import { positionFields, UNSEQUENCED, type Engine, type Publication, type StreamPosition, type StreamTarget } from '../engine/types.js';
import { historyFor, partitionOf } from '../history/rules.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { TraceSpan, Tracing } from '../telemetry/tracing.js';
import type { AfterPublish, Position, PublishedEvent, PublishPositions, PublishSource } from './types.js';

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
  /** Top-level fields after `channel` (protocol encodeExtras: a JWT publish's correlation_id and meta, §14.5). */
  extras?: string;
  /** Who publishes when not the app itself: a JWT principal (§14.5), an admin actor (§17.1). */
  actor?: string;
  /** Set by the admin API's publish; absent for the HTTP API. */
  source?: 'admin';
}

/** The actor of HTTP API publishes: the app itself, proven by its secret. */
const APP_ACTOR = 'app';

/** What a publish to channels without history answers: shared, never written. */
const NO_POSITIONS: PublishPositions = Object.freeze(Object.create(null) as PublishPositions);

/** channel → position for the channels that answered one (history channels). */
function positionsOf(channels: readonly string[], delivered: readonly (FramePosition | undefined)[]): PublishPositions {
  let positions = NO_POSITIONS;
  for (let i = 0; i < channels.length; i++) {
    if (delivered[i] === undefined) continue;
    // Null prototype: a channel named "__proto__" must become a key.
    if (positions === NO_POSITIONS) positions = Object.create(null) as PublishPositions;
    positions[channels[i]] = delivered[i]!;
  }
  return positions;
}

/**
 * One event on one channel, built once: the engine's Publication and, after the engine answered,
 * the hooks' PublishedEvent. On a history channel the engine gets a Publication of its own (the
 * frame without its end, and the stream): this one's `frame` is completed with the position, and
 * a Publication the engine may keep (the outage queue) is never changed after it was handed over.
 */
class ChannelPublish implements Publication, PublishedEvent {
  readonly appId: string;
  /** Publishers that wait for an answer (the HTTP API) are never served a this-node-only delivery during a Redis outage. */
  readonly durable: boolean;
  /** Every subscriber's frame; on a history channel set by deliver() once the position is known. */
  frame = '';
  position: Position = UNSEQUENCED;

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
    readonly extras: string | undefined,
  ) {
    this.appId = app.id;
    this.durable = source !== 'client';
  }
}

export class PublishPipeline {
  constructor(
    private readonly engine: Engine,
    private readonly metrics: Metrics,
    private readonly hooks: readonly AfterPublish[],
    private readonly log: Logger,
    private readonly tracing: Tracing,
  ) {}

  /**
   * POST /events: the route authenticated the app and counted the request; parseTrigger validated
   * the event. Answers the positions it got on history channels (docs/PROTOCOL.md §13.4).
   */
  async publishEvent(app: App, event: ServerEvent, span?: TraceSpan): Promise<PublishPositions> {
    const started = performance.now();
    const { channels } = event;
    let positions: PublishPositions;
    if (channels.length === 1) {
      const position = await this.deliverServerEvent(app, event, channels[0], span);
      positions = position === undefined ? NO_POSITIONS : positionsOf(channels, [position]);
    } else {
      positions = positionsOf(channels, await Promise.all(channels.map((channel) => this.deliverServerEvent(app, event, channel, span))));
    }
    this.metrics.forApp(app.id).publishLatency.observe((performance.now() - started) / 1000);
    return positions;
  }

  /** POST /batch_events: every item validated before any is published (§5.4), then all at once; one answer per item. */
  publishBatch(app: App, events: readonly ServerEvent[], span?: TraceSpan): Promise<PublishPositions[]> {
    return Promise.all(events.map((event) => this.publishEvent(app, event, span)));
  }

  /** A client-* frame that passed publish/client-events.ts's checks; never stored in a cache channel (§2.8). */
  async relayClientEvent(app: App, channel: string, event: string, data: string, dataBytes: number, socketId: string, userId: string | undefined): Promise<void> {
    await this.deliver(new ChannelPublish(app, channel, event, data, dataBytes, 'client', socketId, socketId, userId, undefined), false, undefined, undefined);
  }

  private deliverServerEvent(app: App, event: ServerEvent, channel: string, span: TraceSpan | undefined): Promise<FramePosition | undefined> {
    const publish = new ChannelPublish(app, channel, event.name, event.data, event.dataBytes, event.source ?? 'http', event.actor ?? APP_ACTOR, event.socketId, undefined, event.extras);
    return this.deliver(publish, channelType(channel).cache, event.partitionKey, span);
  }

  /** Resolves to the position on a history channel, undefined on any other. */
  private async deliver(publish: ChannelPublish, cache: boolean, partitionKey: string | undefined, span: TraceSpan | undefined): Promise<FramePosition | undefined> {
    if (cache) await this.engine.setCache(publish.appId, publish.channel, publish.event, publish.data, publish.app.cacheTtl);
    const history = historyFor(publish.app, publish.channel);
    let wire: FramePosition | undefined;
    if (history === undefined) {
      publish.frame = encodeEvent(publish.event, publish.data, publish.channel, publish.userId, publish.extras);
      publish.position = await this.publishToEngine(publish, span);
    } else {
      const stream: StreamTarget = { partition: partitionOf(history, partitionKey), partitioned: history.partitions > 1, retention: history.retention };
      const open = encodeOpenEvent(publish.event, publish.data, publish.channel, publish.userId, publish.extras);
      const { appId, channel, exceptSocketId, durable } = publish;
      const position = await this.publishToEngine({ appId, channel, frame: open, exceptSocketId, durable, stream }, span);
      publish.position = position;
      publish.frame = open + positionFields(position, stream);
      wire = stream.partitioned ? { offset: position.offset, epoch: position.epoch, partition: stream.partition } : { offset: position.offset, epoch: position.epoch };
    }
    for (const hook of this.hooks) {
      // A failing hook must neither fail a publish subscribers already got nor starve the others.
      try {
        hook.published(publish);
      } catch (error) {
        this.log.error({ err: error, appId: publish.appId, channel: publish.channel, source: publish.source }, 'after-publish hook failed');
      }
    }
    return wire;
  }

  private publishToEngine(publication: Publication, parent: TraceSpan | undefined): Promise<StreamPosition> {
    return this.tracing.enabled && parent !== undefined ? this.tracedPublish(publication, parent) : this.engine.publish(publication);
  }

  /** engine.publish in `broadcasty.engine.publish`; the local engine's fan-out inside it gets `broadcasty.deliver` (telemetry/delivery.ts). */
  private async tracedPublish(publication: Publication, parent: TraceSpan): Promise<StreamPosition> {
    const span = this.tracing.start('broadcasty.engine.publish', parent);
    span.set('broadcasty.channel', publication.channel);
    span.set('broadcasty.history', publication.stream !== undefined);
    try {
      return await this.tracing.underPublish(span, () => this.engine.publish(publication));
    } catch (error) {
      span.fail(error);
      throw error;
    } finally {
      span.end();
    }
  }
}
