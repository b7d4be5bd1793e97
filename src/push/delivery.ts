// Delivers push lanes (docs/PROTOCOL.md §16.6; the per-lane loops are LaneDrainer's), sending up
// to LANE_BATCH jobs of the lane's head at once, one attempt each. A lane is one app, one provider
// and one shard of its devices. A send to be retried never waits in its lane: it leaves the lane
// and comes back as a delayed job (the queue's delay, released by the service's sweep), with its
// attempt count, so one device whose push service refuses, or asks for a day's Retry-After, holds
// up nothing behind it. Order within a lane does not matter for push.
// Log lines name the app, provider, device id and reason: never tokens, keys or payloads.
import type { ActivityFeed } from '../activity/feed.js';
import type { Logger } from '../logger.js';
import { LaneDrainer } from '../queue/lane-drainer.js';
import type { LaneQueue } from '../queue/lane-queue.js';
import type { Tracing } from '../telemetry/tracing.js';
import { SEND_TIMEOUT_MS } from './providers/outcome.js';
import type { Device, Notification, ProviderName, PushProvider, SendOutcome } from './types.js';

/** Lanes per app and provider. */
const PUSH_SHARDS = 4;
/** Sends one lane has in flight at once. */
const LANE_BATCH = 16;
const FIRST_RETRY_MS = 1000;
/** The longest any one wait gets, whatever the provider's Retry-After says. */
const MAX_RETRY_MS = 60_000;
/** Attempts one send gets before it is given up (about 6 minutes of backoff), deadline or not. */
export const MAX_ATTEMPTS = 12;

/** One send, stored as JSON in the lane: the device as it was when queued. */
export interface PushJob {
  device: Device;
  notification: Notification;
  publishId: string;
  /** Epoch ms after which the notification is no longer sent (now + its TTL). */
  deadline: number;
  /** Attempts already made; absent before the first (and in jobs queued by older versions). */
  attempts?: number;
}

export type PushQueue = LaneQueue<PushJob>;

/** FNV-1a: stable across processes, so every node puts a device in the same shard. */
function shardOf(deviceId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < deviceId.length; i++) hash = Math.imul(hash ^ deviceId.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % PUSH_SHARDS;
}

/** `<appId>:push:<provider>:<shard>`; parseLane reads it back. */
const laneName = (appId: string, provider: ProviderName, shard: number): string => `${appId}:push:${provider}:${shard}`;

export function laneOf(appId: string, provider: ProviderName, deviceId: string): string {
  return laneName(appId, provider, shardOf(deviceId));
}

/** What a push lane's name stands for. */
interface PushLane {
  appId: string;
  provider: ProviderName;
}

/** Read from the end: app ids may contain colons. */
function parseLane(lane: string): PushLane {
  const parts = lane.split(':');
  return { appId: parts.slice(0, -3).join(':'), provider: parts[parts.length - 2] as ProviderName };
}

/**
 * When the next attempt is due after attempt number `job.attempts + 1` was answered "retry"
 * (after `afterMs` when the provider said): 1 s, 2 s, 4 s … or the Retry-After if longer, never
 * more than 60 s, so `Retry-After: 0` cannot make a tight loop. Undefined when the send is given
 * up: MAX_ATTEMPTS made, or the deadline passed by then.
 */
export function retryDueAt(job: PushJob, afterMs: number | undefined, now: number): number | undefined {
  const made = (job.attempts ?? 0) + 1;
  const wait = Math.min(MAX_RETRY_MS, Math.max(afterMs ?? 0, FIRST_RETRY_MS * 2 ** (made - 1)));
  return made >= MAX_ATTEMPTS || now + wait > job.deadline ? undefined : now + wait;
}

export function appLanes(appId: string, providers: Iterable<ProviderName>): string[] {
  const lanes: string[] = [];
  for (const provider of providers) for (let shard = 0; shard < PUSH_SHARDS; shard++) lanes.push(laneName(appId, provider, shard));
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
  /** Where sent and finally failed sends are reported (the console's stream). */
  activity?: ActivityFeed;
  tracing: Tracing;
}

export class PushDispatcher extends LaneDrainer<PushJob, PushLane> {
  protected readonly headSize = LANE_BATCH;

  constructor(private readonly deps: DispatcherDeps) {
    super(deps.queue, deps.log, 'push');
  }

  protected target(lane: string): PushLane {
    return parseLane(lane);
  }

  protected describe({ appId, provider }: PushLane): Record<string, unknown> {
    return { appId, provider };
  }

  protected laneFull(lane: string): void {
    this.log.error({ lane }, 'push lane full (provider too slow or down); new sends for it are dropped');
  }

  protected async deliver({ appId, provider }: PushLane, jobs: PushJob[]): Promise<boolean> {
    const sender = await this.deps.provider(appId, provider);
    const done = await Promise.all(jobs.map((job) => this.send(appId, provider, sender, job)));
    return !done.includes(false);
  }

  /** Sent, or failed for good with `error`; addressed by the device's user or interests, never its token. */
  private report(appId: string, provider: ProviderName, job: PushJob, error?: string): void {
    const activity = this.deps.activity;
    if (!activity?.wants.push) return;
    const { userId, interests } = job.device;
    const target = userId === undefined ? `interest:${interests.join(',')}` : `user:${userId}`;
    activity.emit({ kind: 'push', appId, outcome: error === undefined ? 'sent' : 'failed', provider, target, ...(error === undefined ? {} : { error }) });
  }

  /** True once the job is done with (sent, given up, or back in the queue for later); false when stopped mid-way. */
  private async send(appId: string, name: ProviderName, provider: PushProvider | undefined, job: PushJob): Promise<boolean> {
    const { outcomes, log } = this.deps;
    const labels = [appId, name] as const;
    const device = job.device.id;
    if (provider === undefined) {
      outcomes.failed.labels(...labels).inc();
      log.error({ appId, provider: name, device }, 'push dropped: the app no longer has this provider');
      this.report(appId, name, job, 'the app no longer has this provider');
      return true;
    }
    if (this.stopping) return false;
    const started = performance.now();
    const outcome = await this.providerSend(appId, name, provider, job);
    outcomes.sendSeconds.labels(name).observe((performance.now() - started) / 1000);
    if (this.stopSignal.aborted) return false;
    switch (outcome.kind) {
      case 'sent':
        outcomes.sent.labels(...labels).inc();
        log.debug({ appId, provider: name, device, publishId: job.publishId }, 'push sent');
        this.report(appId, name, job);
        return true;
      case 'dead':
        await this.deps.remove(appId, device);
        outcomes.removed.labels(...labels).inc();
        log.info({ appId, provider: name, device, reason: outcome.reason }, 'push token dead; device removed');
        this.report(appId, name, job, `device token dead (removed): ${outcome.reason}`);
        return true;
      case 'failed':
        outcomes.failed.labels(...labels).inc();
        log.warn({ appId, provider: name, device, reason: outcome.reason }, 'push failed');
        this.report(appId, name, job, outcome.reason);
        return true;
      case 'retry': {
        const attempts = (job.attempts ?? 0) + 1;
        const dueAt = retryDueAt(job, outcome.afterMs, Date.now());
        if (dueAt === undefined) {
          outcomes.failed.labels(...labels).inc();
          log.warn({ appId, provider: name, device, reason: outcome.reason, attempts }, 'push dropped: out of attempts or expired while retrying');
          this.report(appId, name, job, outcome.reason);
          return true;
        }
        outcomes.retried.labels(...labels).inc();
        log.debug({ appId, provider: name, device, reason: outcome.reason, retryInMs: dueAt - Date.now() }, 'push send failed; retrying');
        // One key per job and attempt: a job sent twice (a node died before its ack) is delayed once.
        const retryKey = `retry:${job.publishId}:${device}:${attempts}`;
        this.queue.delay(appId, retryKey, dueAt, [laneOf(appId, name, device)], { ...job, attempts });
        return true;
      }
    }
  }

  /** The provider's send; in a `broadcasty.push.send` span while tracing is on. */
  private async providerSend(appId: string, name: ProviderName, provider: PushProvider, job: PushJob): Promise<SendOutcome> {
    const signal = AbortSignal.any([AbortSignal.timeout(SEND_TIMEOUT_MS), this.stopSignal]);
    const { tracing } = this.deps;
    if (!tracing.enabled) return provider.send(job.device, job.notification, signal);
    const span = tracing.start('broadcasty.push.send', undefined, 'client');
    span.set('broadcasty.app_id', appId);
    span.set('broadcasty.push.provider', name);
    span.set('broadcasty.attempt', (job.attempts ?? 0) + 1);
    try {
      const outcome = await provider.send(job.device, job.notification, signal);
      span.set('broadcasty.push.outcome', outcome.kind);
      if (outcome.kind !== 'sent') span.fail(outcome.reason);
      return outcome;
    } catch (error) {
      span.fail(error);
      throw error;
    } finally {
      span.end();
    }
  }
}
