// What the server uses of push (the `Push` of types.ts): the device store, each app's providers
// (built from PROVIDER_FACTORIES on first use and again when the app's push settings change), the
// lane queue (memory, or Redis when clustered), its dispatcher, and one sweep timer for what is
// time-driven: releasing retries that are due, renewing and recovering Redis claims.
import { randomUUID } from 'node:crypto';
import type { ActivityFeed } from '../activity/feed.js';
import type { App, AppRegistry } from '../apps/registry.js';
import { ConfigError } from '../config/env.js';
import type { ServerConfig } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { NO_TRACING, type Tracing } from '../telemetry/tracing.js';
import { MemoryLaneQueue } from '../queue/lane-queue.js';
import { startLaneSweep } from '../queue/lane-sweep.js';
import { appLanes, laneOf, PushDispatcher, type PushJob, type PushOutcomes, type PushQueue } from './delivery.js';
import { createDeviceStore } from './devices/index.js';
import { PROVIDER_FACTORIES } from './providers/index.js';
import { ProviderSettingError } from './providers/setting-error.js';
import { PROVIDERS, type Device, type Notification, type Push, type ProviderName, type PushProvider } from './types.js';

/** Retries that are due go back to their lanes this often (a retry waits at least 1 s). */
const SWEEP_MS = 250;
/** Claims are renewed and orphaned lanes looked for every this many sweeps (1 s; Redis queue only). */
const MAINTAIN_EVERY = 4;

export interface PushTuning {
  /** Redis claim lifetime, ms; tests shorten it to see crash recovery quickly. */
  leaseMs?: number;
}

export interface PushService extends Push {
  /** Like `notify`, and says which publish the sends belong to (the answer's publish_id). */
  send(app: App, devices: readonly Device[], notification: Notification): Promise<{ publishId: string; devices: number }>;
  /** Sends of the app waiting in the queue, every provider (the admin API's stats, docs/PROTOCOL.md §17.1). */
  queueDepth(appId: string): Promise<number>;
  stop(): Promise<void>;
}

function buildProviders(app: App): Map<ProviderName, PushProvider> {
  const providers = new Map<ProviderName, PushProvider>();
  const push = app.push;
  if (push === undefined) return providers;
  for (const name of PROVIDERS) if (push[name] !== undefined) providers.set(name, PROVIDER_FACTORIES[name](push));
  return providers;
}

/**
 * Builds every config app's providers once and closes them, so a key that does not parse stops
 * the start with the setting named (§16.1), before anything connects; registry apps are built on
 * first use and log the same error.
 */
export function checkProviderSettings(apps: readonly App[]): void {
  const problems: string[] = [];
  for (const [index, app] of apps.entries()) {
    try {
      for (const provider of buildProviders(app).values()) void provider.close();
    } catch (error) {
      if (!(error instanceof ProviderSettingError)) throw error;
      problems.push(`${error.message} (apps[${index}], id ${app.id})`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems.join('\n'));
}

async function createQueue(config: ServerConfig, tuning: PushTuning, log: Logger): Promise<PushQueue> {
  if (config.redisUrl === undefined) return new MemoryLaneQueue<PushJob>();
  const { RedisLaneQueue } = await import('../queue/redis-lane-queue.js');
  // Outlives one send's timeout plus a missed renewal, so a live node never loses a lane.
  return new RedisLaneQueue<PushJob>({ url: config.redisUrl, prefix: config.redisPrefix, namespace: 'push', leaseMs: tuning.leaseMs ?? 20_000, log });
}

export async function createPush(
  ctx: { config: ServerConfig; registry: AppRegistry; log: Logger; outcomes: PushOutcomes; activity?: ActivityFeed; tracing?: Tracing },
  tuning: PushTuning = {},
): Promise<PushService> {
  const { config, registry } = ctx;
  const log = ctx.log.child({ component: 'push' });
  /**
   * By app id, with the app object and the settings they were built from: registries hand out
   * fresh app objects (a cache refresh), so only changed push settings build new providers and
   * close the old ones; the same object again (every send between refreshes) is not compared.
   */
  const built = new Map<string, { app: App; settings: string; providers: Map<ProviderName, PushProvider> }>();
  const devices = await createDeviceStore(config, log);
  const queue = await createQueue(config, tuning, log);
  /**
   * Lanes the maintenance looks after and apps whose due retries the sweep releases: config apps'
   * from the start (a restarted node finds what was left), others' once used.
   */
  const lanes = new Set<string>();
  const apps = new Set<string>();
  for (const app of config.apps) {
    if (app.push === undefined) continue;
    apps.add(app.id);
    for (const lane of appLanes(app.id, PROVIDERS.filter((p) => app.push![p] !== undefined))) lanes.add(lane);
  }

  const closeAll = (map: Map<ProviderName, PushProvider>) => Promise.all([...map.values()].map((provider) => provider.close()));
  /** Built on first use; throws ProviderSettingError on every use while the settings cannot work. */
  const providers = (app: App): Map<ProviderName, PushProvider> => {
    const entry = built.get(app.id);
    if (entry?.app === app) return entry.providers;
    const settings = JSON.stringify(app.push ?? null);
    if (entry?.settings === settings) {
      entry.app = app;
      return entry.providers;
    }
    if (entry !== undefined) void closeAll(entry.providers);
    const map = buildProviders(app);
    built.set(app.id, { app, settings, providers: map });
    return map;
  };
  /** The app's providers; none (and an error log naming the setting) when one cannot be built. */
  const usableProviders = (app: App): Map<ProviderName, PushProvider> => {
    try {
      return providers(app);
    } catch (error) {
      if (!(error instanceof ProviderSettingError)) throw error;
      log.error({ appId: app.id, err: error.message }, 'push provider settings cannot work; nothing is sent for this app');
      return new Map();
    }
  };
  const providerOf = async (appId: string, name: ProviderName): Promise<PushProvider | undefined> => {
    const app = await registry.findById(appId);
    return app === undefined ? undefined : usableProviders(app).get(name);
  };
  const dispatcher = new PushDispatcher({ queue, provider: providerOf, remove: (appId, id) => devices.remove(appId, id), outcomes: ctx.outcomes, log, activity: ctx.activity, tracing: ctx.tracing ?? NO_TRACING });

  /**
   * False when the queue refused the job and says so at once (memory: a full lane). The Redis
   * queue's answer comes later and only as its log line: waiting for it would hold up the API's.
   */
  const queueJob = (appId: string, lane: string, job: PushJob): boolean => {
    if (queue instanceof MemoryLaneQueue) return queue.push(appId, [lane], job);
    queue.push(appId, [lane], job);
    return true;
  };

  /** How many sends were queued. */
  const enqueue = (app: App, list: readonly Device[], notification: Notification, publishId: string): number => {
    const configured = usableProviders(app);
    const deadline = Date.now() + (notification.ttlSeconds ?? app.push?.ttlSeconds ?? 0) * 1000;
    const seen = new Set<string>();
    let queued = 0;
    apps.add(app.id);
    for (const device of list) {
      if (seen.has(device.id) || !configured.has(device.provider)) continue;
      seen.add(device.id);
      const lane = laneOf(app.id, device.provider, device.id);
      lanes.add(lane);
      if (queueJob(app.id, lane, { device, notification, publishId, deadline })) queued++;
    }
    return queued;
  };

  const stopSweep = startLaneSweep(queue, {
    everyMs: SWEEP_MS,
    maintainEvery: MAINTAIN_EVERY,
    appIds: () => [...apps],
    lanes: () => [...lanes],
    draining: dispatcher.draining,
    log,
    failure: 'push queue sweep failed',
  });

  return {
    devices,
    async notify(app, list, notification) {
      return enqueue(app, list, notification, randomUUID());
    },
    async send(app, list, notification) {
      const publishId = randomUUID();
      return { publishId, devices: enqueue(app, list, notification, publishId) };
    },
    queueDepth: (appId) => queue.depth(appLanes(appId, PROVIDERS)),
    async stop() {
      stopSweep();
      const memory = queue instanceof MemoryLaneQueue;
      const held = [...dispatcher.draining];
      await dispatcher.stop(config.shutdownGraceMs, memory);
      if (memory && queue.pending() > 0) log.warn({ pending: queue.pending() }, 'push sends still queued in memory are dropped at shutdown');
      await queue.close(held);
      await devices.close();
      await Promise.all([...built.values()].map((entry) => closeAll(entry.providers)));
    },
  };
}
