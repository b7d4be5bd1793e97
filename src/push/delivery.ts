// Drains push lanes (docs/PROTOCOL.md §16.6): one loop per lane this node owns, sending up to
// LANE_BATCH jobs of the lane's head at once. A lane is one app, one provider and one shard of its
// devices, so a device whose provider keeps answering 503 holds up one shard, not the provider.
// Retries back off 1 s, 2 s, 4 s … (at most 60 s) or wait for the provider's Retry-After, until
// the job's deadline. The head is acknowledged only once every job of the batch is done with.
// Log lines name the app, provider, device id and reason: never tokens, keys or payloads.
import type { Logger } from '../logger.js';
import type { LaneQueue } from '../queue/lane-queue.js';
import type { Device, Notification, ProviderName, PushProvider } from './types.js';

/** Lanes per app and provider. */
export const PUSH_SHARDS = 4;
/** Sends one lane has in flight at once. */
const LANE_BATCH = 16;
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 60_000;
/** One attempt's limit, whatever the provider does. */
const SEND_TIMEOUT_MS = 15_000;

/** One send, stored as JSON in the lane: the device as it was when queued. */
export interface PushJob {
  device: Device;
  notification: Notification;
  publishId: string;
  /** Epoch ms after which the notification is no longer sent (now + its TTL). */
  deadline: number;
}

export type PushQueue = LaneQueue<PushJob>;

/** FNV-1a: stable across processes, so every node puts a device in the same shard. */
function shardOf(deviceId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < deviceId.length; i++) hash = Math.imul(hash ^ deviceId.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % PUSH_SHARDS;
}

export function laneOf(appId: string, provider: ProviderName, deviceId: string): string {
  return `${appId}:push:${provider}:${shardOf(deviceId)}`;
}

/** Read from the end: app ids may contain colons. */
function parseLane(lane: string): { appId: string; provider: ProviderName } {
  const parts = lane.split(':');
  return { appId: parts.slice(0, -3).join(':'), provider: parts[parts.length - 2] as ProviderName };
}

export function appLanes(appId: string, providers: Iterable<ProviderName>): string[] {
  const lanes: string[] = [];
  for (const provider of providers) for (let shard = 0; shard < PUSH_SHARDS; shard++) lanes.push(`${appId}:push:${provider}:${shard}`);
  return lanes;
}

/** Where outcomes are counted (Prometheus; Metrics.push has this shape). */
export interface PushOutcomes {
  sent: { labels(appId: string, provider: string): { inc(): void } };
  failed: { labels(appId: string, provider: string): { inc(): void } };
  retried: { labels(appId: string, provider: string): { inc(): void } };
  removed: { labels(appId: string, provider: string): { inc(): void } };
  sendSeconds: { labels(provider: string): { observe(seconds: number): void } };
}

export interface DispatcherDeps {
  queue: PushQueue;
  /** The app's provider; undefined when the app is gone or no longer configures it. */
  provider(appId: string, name: ProviderName): Promise<PushProvider | undefined>;
  /** Removes a device its provider called dead. */
  remove(appId: string, deviceId: string): Promise<boolean>;
  outcomes: PushOutcomes;
  log: Logger;
}

export class PushDispatcher {
  /** Lanes with a running drain loop. */
  readonly draining = new Set<string>();
  /** Lanes handed to us while their loop was finishing: it must look once more before exiting. */
  private readonly rekicked = new Set<string>();
  private readonly loops = new Set<Promise<void>>();
  private stopping = false;
  /** Aborts in-flight sends once stop()'s grace time is over. */
  private readonly stopper = new AbortController();
  /** Resolvers of the loops' backoff waits, so stop() can cut them short. */
  private readonly wake = new Set<() => void>();
  /** Lanes that refused a job since they were last empty. */
  private readonly full = new Set<string>();

  constructor(private readonly deps: DispatcherDeps) {
    deps.queue.onOwned = (lanes) => {
      for (const lane of lanes) this.own(lane);
    };
    deps.queue.onFull = (lane) => {
      // One line per lane per episode: a flood of identical lines would bury the cause.
      if (this.full.has(lane)) return;
      this.full.add(lane);
      deps.log.error({ lane }, 'push lane full (provider too slow or down); new sends for it are dropped');
    };
  }

  own(lane: string): void {
    if (this.stopping) return;
    if (this.draining.has(lane)) {
      this.rekicked.add(lane);
      return;
    }
    this.draining.add(lane);
    const loop = this.drain(lane).finally(() => {
      this.draining.delete(lane);
      this.loops.delete(loop);
    });
    this.loops.add(loop);
  }

  /** As the webhook dispatcher: `finishQueued` (memory) keeps sending until the grace is over. */
  async stop(graceMs: number, finishQueued: boolean): Promise<void> {
    const graceOver = setTimeout(() => {
      this.halt();
      this.stopper.abort();
    }, graceMs);
    if (!finishQueued) this.halt();
    while (this.loops.size > 0) await Promise.all(this.loops);
    clearTimeout(graceOver);
    this.halt();
    this.stopper.abort();
  }

  private halt(): void {
    this.stopping = true;
    for (const wake of [...this.wake]) wake();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake.add(done);
    });
  }

  private async drain(lane: string): Promise<void> {
    const { appId, provider } = parseLane(lane);
    const { queue, log } = this.deps;
    try {
      while (!this.stopping) {
        this.rekicked.delete(lane);
        const jobs = await queue.head(lane, LANE_BATCH);
        if (jobs.length === 0) {
          this.full.delete(lane);
          if ((await queue.release(lane)) && !this.rekicked.has(lane)) return;
          continue;
        }
        const sender = await this.deps.provider(appId, provider);
        const done = await Promise.all(jobs.map((job) => this.deliver(appId, provider, sender, job)));
        if (done.includes(false)) return;
        if (!(await queue.ack(lane, jobs.length))) {
          log.warn({ appId, provider }, 'push lane claimed by another node; stopping here');
          return;
        }
      }
    } catch (err) {
      // Queue trouble (Redis down): the jobs stay queued and the maintenance re-claims the lane later.
      log.error({ err: (err as Error).message, appId, provider }, 'push lane stalled');
    }
  }

  /** True once the job is done with (sent or given up); false when stopped mid-way. */
  private async deliver(appId: string, name: ProviderName, provider: PushProvider | undefined, job: PushJob): Promise<boolean> {
    const { outcomes, log } = this.deps;
    const labels = [appId, name] as const;
    const device = job.device.id;
    if (provider === undefined) {
      outcomes.failed.labels(...labels).inc();
      log.error({ appId, provider: name, device }, 'push dropped: the app no longer has this provider');
      return true;
    }
    for (let attempt = 0; ; attempt++) {
      if (this.stopping) return false;
      const started = performance.now();
      const outcome = await provider.send(job.device, job.notification, AbortSignal.any([AbortSignal.timeout(SEND_TIMEOUT_MS), this.stopper.signal]));
      outcomes.sendSeconds.labels(name).observe((performance.now() - started) / 1000);
      if (this.stopper.signal.aborted) return false;
      switch (outcome.kind) {
        case 'sent':
          outcomes.sent.labels(...labels).inc();
          log.debug({ appId, provider: name, device, publishId: job.publishId }, 'push sent');
          return true;
        case 'dead':
          await this.deps.remove(appId, device);
          outcomes.removed.labels(...labels).inc();
          log.info({ appId, provider: name, device, reason: outcome.reason }, 'push token dead; device removed');
          return true;
        case 'failed':
          outcomes.failed.labels(...labels).inc();
          log.warn({ appId, provider: name, device, reason: outcome.reason }, 'push failed');
          return true;
        case 'retry': {
          const wait = outcome.afterMs ?? Math.min(FIRST_RETRY_MS * 2 ** attempt, MAX_RETRY_MS);
          if (Date.now() + wait > job.deadline) {
            outcomes.failed.labels(...labels).inc();
            log.warn({ appId, provider: name, device, reason: outcome.reason, attempts: attempt + 1 }, 'push dropped: notification expired while retrying');
            return true;
          }
          outcomes.retried.labels(...labels).inc();
          log.debug({ appId, provider: name, device, reason: outcome.reason, retryInMs: wait }, 'push send failed; retrying');
          await this.sleep(wait);
        }
      }
    }
  }
}
