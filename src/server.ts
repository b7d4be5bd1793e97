// Wiring: config → registry, engine, hub, transport, HTTP API, ticker. Start, drain, stop.
import { ErrorCode, ErrorMessage } from '../protocol/index.js';
import { createApiRouter } from './api/router.js';
import { createRegistry } from './apps/index.js';
import type { AppRegistry } from './apps/registry.js';
import { ClusterChangeEffects } from './channels/cluster-changes.js';
import { Subscriptions } from './channels/subscriptions.js';
import { SubscriptionCounts } from './channels/subscription-counts.js';
import type { ServerConfig } from './config/schema.js';
import { AppFollower } from './connections/app-refresh.js';
import { clockMs, type Connection } from './connections/connection.js';
import { socketHandlers } from './connections/handlers.js';
import { Hub } from './connections/hub.js';
import { sweep } from './connections/liveness.js';
import type { ServerContext } from './context.js';
import { createEngine } from './engine/index.js';
import type { Engine } from './engine/types.js';
import { createLogger, type Logger } from './logger.js';
import { ObserverFanout, type ChannelObserver } from './publish/observer.js';
import { Publisher } from './publish/publisher.js';
import { Metrics } from './metrics/metrics.js';
import { startMetricsServer } from './metrics/server.js';
import { FdBudget } from './transport/fd-budget.js';
import { createTransport } from './transport/index.js';
import { createWebhooks } from './webhooks/index.js';

export interface ServerDeps {
  engine?: Engine;
  registry?: AppRegistry;
  observers?: ChannelObserver[];
  log?: Logger;
}

export interface RunningServer {
  port: number;
  /** Set when config.metrics is on. */
  metricsPort: number | undefined;
  ctx: ServerContext;
  /** Closes every socket with 4200, stops listening and the engine. */
  shutdown(): Promise<void>;
}

const SWEEP_MS = 1000;
const COUNT_FLUSH_MS = 5000;

export async function startServer(config: ServerConfig, deps: ServerDeps = {}): Promise<RunningServer> {
  const log = deps.log ?? createLogger(config.logLevel);
  const engine = deps.engine ?? (await createEngine(config, log));
  const metrics = new Metrics();
  const ownRegistry = deps.registry === undefined ? await createRegistry(config, log) : undefined;
  const registry = deps.registry ?? ownRegistry!;
  const webhooks = await createWebhooks({ config, log, metrics: metrics.webhooks });
  const observer = new ObserverFanout([...(deps.observers ?? []), webhooks.observer]);
  const hub = new Hub(metrics);
  const fds = FdBudget.forProcess(config.fdReserve);
  const ctx: ServerContext = {
    config,
    registry,
    engine,
    hub,
    observer,
    log,
    metrics,
    socketLimit: config.maxSocketsPerProcess ?? fds.socketLimit,
    draining: false,
  };
  const counts = new SubscriptionCounts(engine, observer);
  const subscriptions = new Subscriptions(ctx, counts);
  const publisher = new Publisher(engine, metrics);
  const transport = createTransport<Connection>(config.transport, {
    host: config.host,
    port: config.port,
    pathPrefix: config.pathPrefix,
    tlsCert: config.tlsCert,
    tlsKey: config.tlsKey,
    maxMessageBytes: config.maxMessageBytes,
    maxRequestBytes: config.maxRequestBytes,
    // Far above the soft limit: the 1 s sweep closes slow consumers with 4100 long before uWS must.
    hardBackpressureBytes: config.maxBackpressureBytes * 8,
    exclusivePort: config.workers === 1,
    fds,
    sockets: socketHandlers(ctx, subscriptions),
    http: createApiRouter(ctx, publisher),
  }, log);
  hub.attach(transport);
  await engine.start(hub, new ClusterChangeEffects(ctx, counts));
  const port = await transport.listen();

  const metricsServer = config.metrics
    ? await startMetricsServer(metrics, { connectionCount: () => hub.connections.size }, config.metricsHost, config.metricsPort)
    : undefined;

  const liveness = {
    maxBackpressureBytes: config.maxBackpressureBytes,
    onSlowConsumer: (c: Connection) => {
      metrics.slowConsumers.labels(c.app!.id).inc();
      log.warn({ socketId: c.socketId, appId: c.app!.id }, 'slow consumer closed with 4100');
    },
  };
  const appFollower = new AppFollower(registry, log);
  const sweepTimer = setInterval(() => {
    sweep(hub.connections.values(), clockMs(), liveness);
    metrics.engineHealthy.set(engine.health() === 'ok' ? 1 : 0);
    appFollower.tick(hub.connections);
  }, SWEEP_MS);
  const countsTimer = setInterval(() => void counts.flush().catch((err: unknown) => log.error({ err }, 'count flush failed')), COUNT_FLUSH_MS);
  sweepTimer.unref();
  countsTimer.unref();

  return {
    port,
    metricsPort: metricsServer?.port,
    ctx,
    async shutdown() {
      ctx.draining = true;
      clearInterval(sweepTimer);
      clearInterval(countsTimer);
      transport.stopListening();
      for (const connection of [...hub.connections.values()]) connection.fail(ErrorCode.ReconnectImmediately, ErrorMessage.shuttingDown);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await webhooks.stop();
      await engine.stop();
      await metricsServer?.close();
      await ownRegistry?.close();
    },
  };
}
