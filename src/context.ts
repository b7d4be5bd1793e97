// What the handlers share. Built once in server.ts; passed down, never imported as a global.
import type { ActivityFeed } from './activity/feed.js';
import type { AppRegistry } from './apps/registry.js';
import type { ServerConfig } from './config/schema.js';
import type { Engine } from './engine/types.js';
import type { Hub } from './hub/hub.js';
import type { ChannelObserver } from './publish/observer.js';
import type { PublishPipeline } from './publish/pipeline.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics/metrics.js';
import type { PushService } from './push/service.js';
import type { Tracing } from './telemetry/tracing.js';
import type { Webhooks } from './webhooks/index.js';

/**
 * What channels/ and publish/ work with: no hub, no transport, no process state. Channels get
 * the hub's Membership separately; delivery goes through the engine.
 */
export interface ChannelContext {
  config: ServerConfig;
  registry: AppRegistry;
  engine: Engine;
  observer: ChannelObserver;
  pipeline: PublishPipeline;
  log: Logger;
  /** What the console's tap and the audit log watch (src/activity/): emit only when `wants` the kind. */
  activity: ActivityFeed;
  /** OpenTelemetry spans (src/telemetry/): check `enabled` before building one on the hot path. */
  tracing: Tracing;
}

/** The socket side (connections/) and the HTTP API (api/) also see the process. */
export interface ServerContext extends ChannelContext {
  hub: Hub;
  metrics: Metrics;
  /** Push notifications (docs/PROTOCOL.md §16): devices, providers, the send queue. */
  push: PushService;
  /** Webhook delivery (docs/PROTOCOL.md §6): the observer and the queue. */
  webhooks: Webhooks;
  /** Sockets this process holds before refusing more with 4100. */
  socketLimit: number;
  /** True once SIGTERM started the drain: /ready answers 503 and new sockets get 4200. */
  draining: boolean;
}
