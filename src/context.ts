// What the handlers share. Built once in server.ts; passed down, never imported as a global.
import type { AppRegistry } from './apps/registry.js';
import type { ServerConfig } from './config/schema.js';
import type { Hub } from './connections/hub.js';
import type { Engine } from './engine/types.js';
import type { ChannelObserver } from './publish/observer.js';
import type { PublishPipeline } from './publish/pipeline.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics/metrics.js';

export interface ServerContext {
  config: ServerConfig;
  registry: AppRegistry;
  engine: Engine;
  hub: Hub;
  observer: ChannelObserver;
  pipeline: PublishPipeline;
  log: Logger;
  metrics: Metrics;
  /** Sockets this process holds before refusing more with 4100. */
  socketLimit: number;
  /** True once SIGTERM started the drain: /ready answers 503 and new sockets get 4200. */
  draining: boolean;
}
