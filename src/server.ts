// Wiring: config → registry, engine, hub, transport, HTTP API, ticker. Start, drain, stop.
import { ActivityFeed } from './activity/feed.js';
import { MemberActivityReport, PublishActivityReport } from './activity/reports.js';
import { withAdmin } from './admin/front.js';
import { AdminNode } from './admin/node.js';
import { startAudit } from './audit/index.js';
import { checkJwtSettings, type SettingName } from './auth/jwt-settings.js';
import { withCors } from './api/cors.js';
import { createApiRouter } from './api/router.js';
import { createRegistry } from './apps/index.js';
import type { AppRegistry } from './apps/registry.js';
import { ClusterChangeEffects } from './channels/cluster-changes.js';
import { PresenceLeaseSweeper } from './channels/presence-leases.js';
import { Subscriptions } from './channels/subscriptions.js';
import { SubscriptionCounts } from './channels/subscription-counts.js';
import type { ServerConfig } from './config/schema.js';
import { AppFollower } from './connections/app-refresh.js';
import { socketHandlers } from './connections/handlers.js';
import { closeGradually } from './connections/drain.js';
import { sweep } from './connections/liveness.js';
import type { ServerContext } from './context.js';
import { createEngine } from './engine/index.js';
import type { Engine } from './engine/types.js';
import { clockMs, type Connection } from './hub/connection.js';
import { Hub } from './hub/hub.js';
import { HARD_BACKPRESSURE_FACTOR, SlowConsumers } from './hub/slow-consumers.js';
import { createLogger, type Logger } from './logger.js';
import { ClientEventReport, PublishCounter, PublishLog } from './publish/hooks.js';
import { ObserverFanout, type ChannelObserver } from './publish/observer.js';
import { PublishPipeline } from './publish/pipeline.js';
import type { AfterPublish } from './publish/types.js';
import { Metrics } from './metrics/metrics.js';
import { startMetricsServer } from './metrics/server.js';
import { readiness } from './readiness.js';
import { FdBudget } from './transport/fd-budget.js';
import { createTransport } from './transport/index.js';
import type { SocketHandlers } from './transport/types.js';
import { withSessions } from './sessions/front.js';
import { HttpSessions } from './sessions/sessions.js';
import { createWebhooks } from './webhooks/index.js';
import { checkProviderSettings, createPush } from './push/service.js';
import { TracedDelivery } from './telemetry/delivery.js';
import { startTracing } from './telemetry/tracing.js';

export interface ServerDeps {
  engine?: Engine;
  registry?: AppRegistry;
  observers?: ChannelObserver[];
  /** Run after every publish, after the server's own (metrics, client_event webhooks, debug log). */
  afterPublish?: AfterPublish[];
  log?: Logger;
  /** Names settings in startup errors as the operator wrote them (config/load.ts Setup). */
  settingName?: SettingName;
}

export interface RunningServer {
  port: number;
  /** Set when config.metrics is on. */
  metricsPort: number | undefined;
  ctx: ServerContext;
  /**
   * The handlers the transport drives: another subscriber kind (HTTP stream, polling session,
   * in-process test client) opens its connections through the same ones.
   */
  sockets: SocketHandlers<Connection>;
  /** This process's HTTP sessions (pusher-js fallbacks, SSE, poll). */
  sessions: HttpSessions;
  /** Closes every socket with 4200, stops listening and the engine. */
  shutdown(): Promise<void>;
}

const SWEEP_MS = 1000;
const COUNT_FLUSH_MS = 5000;

export async function startServer(config: ServerConfig, deps: ServerDeps = {}): Promise<RunningServer> {
  const log = deps.log ?? createLogger(config.logLevel);
  await checkJwtSettings(config.apps, log, deps.settingName);
  checkProviderSettings(config.apps);
  const metrics = new Metrics();
  const engine =
    deps.engine ?? (await createEngine(config, log, { outageEventsDropped: (appId, count) => metrics.outageEventsDropped.labels(appId).inc(count) }));
  const ownRegistry = deps.registry === undefined ? await createRegistry(config, log) : undefined;
  const registry = deps.registry ?? ownRegistry!;
  const tracing = await startTracing(config, log);
  const activity = new ActivityFeed();
  const audit = await startAudit(config, log);
  // Removed before the audit stops: activity emitted during the rest of the shutdown finds no closed sink.
  const removeAudit = audit === undefined ? undefined : activity.add(audit);
  const push = await createPush({ config, registry, log, outcomes: metrics.push, activity, tracing });
  const webhooks = await createWebhooks({ config, log, metrics: metrics.webhooks, activity, tracing });
  const observer = new ObserverFanout([...(deps.observers ?? []), webhooks.observer, new MemberActivityReport(activity)]);
  const hub = new Hub(metrics, new SlowConsumers(config.maxBackpressureBytes, metrics, log));
  const fds = FdBudget.forProcess(config.fdReserve);
  const afterPublish: AfterPublish[] = [new PublishCounter(metrics), new ClientEventReport(observer), new PublishActivityReport(activity)];
  if (log.isLevelEnabled('debug')) afterPublish.push(new PublishLog(log));
  const pipeline = new PublishPipeline(engine, metrics, [...afterPublish, ...(deps.afterPublish ?? [])], log, tracing);
  const ctx: ServerContext = {
    config,
    registry,
    engine,
    hub,
    observer,
    pipeline,
    log,
    metrics,
    push,
    webhooks,
    activity,
    tracing,
    socketLimit: config.maxSocketsPerProcess ?? fds.socketLimit,
    draining: false,
  };
  const counts = new SubscriptionCounts(engine, observer);
  const subscriptions = new Subscriptions(ctx, hub, counts);
  const sockets = socketHandlers(ctx, subscriptions);
  const sessions = new HttpSessions(sockets, config);
  const admin = new AdminNode(ctx);
  const transport = createTransport<Connection>(config.transport, {
    host: config.host,
    port: config.port,
    pathPrefix: config.pathPrefix,
    tlsCert: config.tlsCert,
    tlsKey: config.tlsKey,
    maxMessageBytes: config.maxMessageBytes,
    maxRequestBytes: config.maxRequestBytes,
    maxStreamBufferBytes: config.maxStreamBufferBytes,
    hardBackpressureBytes: config.maxBackpressureBytes * HARD_BACKPRESSURE_FACTOR,
    exclusivePort: config.workers === 1,
    fds,
    sockets,
    http: withAdmin(ctx, admin, withCors(registry, config.httpPath, withSessions(ctx, sessions, createApiRouter(ctx)))),
  }, log);
  hub.attach(transport);
  await engine.start(tracing.enabled ? new TracedDelivery(hub, tracing) : hub, new ClusterChangeEffects(ctx, counts));
  await admin.start();
  const port = await transport.listen();

  const metricsServer = config.metrics
    ? await startMetricsServer(metrics, { connectionCount: () => hub.connections.size, readiness: () => readiness(ctx) }, config.metricsHost, config.metricsPort)
    : undefined;

  const appFollower = new AppFollower(registry, log);
  const sweepTimer = setInterval(() => {
    sweep(hub.connections.values(), clockMs(), hub.slowConsumers);
    sessions.sweep(Date.now());
    metrics.engineHealthy.set(engine.health() === 'ok' ? 1 : 0);
    appFollower.tick(hub.connections);
    admin.tick();
  }, SWEEP_MS);
  const countsTimer = setInterval(() => void counts.flush().catch((err: unknown) => log.error({ err }, 'count flush failed')), COUNT_FLUSH_MS);
  sweepTimer.unref();
  countsTimer.unref();
  const leaseSweeper = new PresenceLeaseSweeper(ctx);
  leaseSweeper.start();

  return {
    port,
    metricsPort: metricsServer?.port,
    ctx,
    sockets,
    sessions,
    async shutdown() {
      // /ready answers 503 from here on and new sockets get 4200, while the port stays open so
      // probes see the 503 instead of a refused connection during the drain.
      ctx.draining = true;
      clearInterval(sweepTimer);
      clearInterval(countsTimer);
      await leaseSweeper.stop();
      await closeGradually(hub.connections, config.shutdownGraceMs / 2);
      transport.stopListening();
      await new Promise((resolve) => setTimeout(resolve, 50));
      await webhooks.stop();
      await push.stop();
      await admin.stop();
      await engine.stop();
      removeAudit?.();
      await audit?.stop();
      await metricsServer?.close();
      await ownRegistry?.close();
      // Last: the spans of the webhooks and pushes sent while stopping go out too.
      await tracing.shutdown();
    },
  };
}
