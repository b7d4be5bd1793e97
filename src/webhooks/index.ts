// Webhooks wiring: the observer the server calls, the queue (memory, or Redis when clustered),
// the dispatcher that delivers, and one sweep timer for everything time-driven (releasing
// delayed events, renewing and recovering Redis claims) instead of a timer per event.
import type { ActivityFeed } from '../activity/feed.js';
import type { ServerConfig } from '../config/schema.js';
import type { Logger } from '../logger.js';
import type { ChannelObserver } from '../publish/observer.js';
import type { Tracing } from '../telemetry/tracing.js';
import { Dispatcher, type WebhookOutcomes } from './delivery.js';
import { WebhookObserver } from './observer.js';
import { MemoryLaneQueue } from '../queue/lane-queue.js';
import { startLaneSweep } from '../queue/lane-sweep.js';
import type { Job, WebhookQueue } from './queue.js';
import { TargetTable } from './targets.js';

const SWEEP_MS = 100;
/** Claims are renewed and orphaned lanes looked for every this many sweeps (1 s). */
const MAINTAIN_EVERY = 10;

export interface Webhooks {
  observer: ChannelObserver;
  /** Jobs waiting in this node's lanes, as the queue-depth gauge shows them (the admin stats read it). */
  queueDepth(): Promise<number>;
  /** Stops the sweep, lets in-flight POSTs finish briefly, hands Redis claims back. */
  stop(): Promise<void>;
}

export interface WebhookTuning {
  /** Redis claim lifetime, ms; tests shorten it to see crash recovery quickly. */
  leaseMs?: number;
}

/**
 * How long start-up waits for the queue's Redis before going on (events then wait for the link).
 * A reachable Redis answers in milliseconds; a down one should not delay the engine's own wait.
 */
const REDIS_READY_WAIT_MS = 1000;

async function redisQueue(config: ServerConfig, url: string, tuning: WebhookTuning, log: Logger): Promise<WebhookQueue> {
  const { RedisLaneQueue } = await import('../queue/redis-lane-queue.js');
  const queue = new RedisLaneQueue<Job>({
    url,
    prefix: config.redisPrefix,
    namespace: 'webhooks',
    // Outlives one POST timeout plus a missed renewal, so a live node never loses a lane.
    leaseMs: tuning.leaseMs ?? Math.max(5000, 2 * config.webhookTimeoutMs + 2000),
    log,
  });
  await queue.ready(REDIS_READY_WAIT_MS);
  return queue;
}

export interface WebhookMetrics extends WebhookOutcomes {
  /** Called on scrape with a function that counts the jobs waiting in this node's lanes. */
  observeDepth(depth: () => Promise<number>): void;
}

/** The Redis queue (and ioredis) is loaded only when the server is clustered. */
export async function createWebhooks(ctx: { config: ServerConfig; log: Logger; metrics?: WebhookMetrics; activity?: ActivityFeed; tracing?: Tracing }, tuning: WebhookTuning = {}): Promise<Webhooks> {
  const { config } = ctx;
  const log = ctx.log.child({ component: 'webhooks' });
  const targets = new TargetTable();
  // Apps known up front, so a restarted node finds the lanes and delayed events left in Redis.
  for (const app of config.apps) if (app.webhooks.length > 0) targets.register(app);

  const queue: WebhookQueue = config.redisUrl === undefined ? new MemoryLaneQueue<Job>() : await redisQueue(config, config.redisUrl, tuning, log);
  const dispatcher = new Dispatcher(
    queue,
    targets,
    { batchMs: config.webhookBatchMs, timeoutMs: config.webhookTimeoutMs, retryWindowMs: config.webhookRetryWindowMs },
    log,
    ctx.metrics,
    ctx.activity,
    ctx.tracing,
  );
  const queueDepth = () => queue.depth(targets.laneKeys());
  ctx.metrics?.observeDepth(queueDepth);
  const observer = new WebhookObserver(queue, targets, config.webhookDelayMs);

  const stopSweep = startLaneSweep(queue, {
    everyMs: SWEEP_MS,
    maintainEvery: MAINTAIN_EVERY,
    appIds: () => targets.appIds(),
    lanes: () => targets.laneKeys(),
    draining: dispatcher.draining,
    log,
    failure: 'webhook sweep failed',
  });

  return {
    observer,
    queueDepth,
    async stop() {
      stopSweep();
      const memory = queue instanceof MemoryLaneQueue;
      // Nothing in memory outlives the process: held leaves go out now rather than never, so
      // receivers tracking presence do not keep users online forever. Redis keeps them for the
      // other nodes, where a client reconnecting within the delay still cancels them.
      if (memory) await queue.releaseDue([], Number.POSITIVE_INFINITY);
      const held = [...dispatcher.draining];
      await dispatcher.stop(Math.min(config.shutdownGraceMs, config.webhookTimeoutMs), memory);
      if (memory && queue.pending() > 0) log.warn({ pending: queue.pending() }, 'webhooks still queued in memory are dropped at shutdown');
      await queue.close(held);
    },
  };
}
