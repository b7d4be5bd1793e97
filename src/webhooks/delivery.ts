// Delivers webhook lanes (the loops are LaneDrainer's): one POST in flight per lane. Batching waits
// for the window, failures back off 1 s, 2 s, 4 s … (capped at 60 s) until the retry window
// closes, then the jobs are dropped with a log line. Only the target's host and the status are
// logged: URLs may carry tokens, and bodies and headers carry signatures.
import { webhookBody, webhookHeaders, WEBHOOK_RESERVED_HEADERS } from '../../protocol/index.js';
import type { ActivityFeed } from '../activity/feed.js';
import type { Logger } from '../logger.js';
import { LaneDrainer } from '../queue/lane-drainer.js';
import { NO_TRACING, type Tracing } from '../telemetry/tracing.js';
import type { Job, WebhookQueue } from './queue.js';
import type { Lane, TargetTable } from './targets.js';

/** Most events in one POST when batching (hosted Pusher batches too; receivers iterate `events`). */
export const MAX_BATCH = 100;
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 60_000;
const USER_AGENT = 'Broadcasty-Webhooks/1.0';

export interface DeliverySettings {
  batchMs: number;
  timeoutMs: number;
  retryWindowMs: number;
}

/** What one attempt came to: an HTTP status, or why there was none. */
export type Attempt = number | 'timeout' | 'network error' | 'stopped';

/** POSTs with Node's fetch: its global agent keeps connections alive per origin. */
export async function post(url: string, headers: Record<string, string>, body: string, timeoutMs: number, stop: AbortSignal): Promise<Attempt> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.any([timeout, stop]) });
    // Read the (small) reply so the socket goes back to the pool instead of being torn down.
    await response.arrayBuffer();
    return response.status;
  } catch {
    if (stop.aborted) return 'stopped';
    return timeout.aborted ? 'timeout' : 'network error';
  }
}

/** Scheme, host and port only: the path may hold the receiver's token (Slack, Discord), the query too. */
const originOf = (url: string): string => new URL(url).origin;

/** The last attempt as an activity says it: the receiver's status, or why there was none. */
const attemptOutcome = (result: Attempt): { status: number } | { error: string } => (typeof result === 'number' ? { status: result } : { error: result });

/** A target's own headers first; the three Pusher headers always win, whatever their case. */
export function requestHeaders(lane: Lane, body: string): Record<string, string> {
  const headers: Record<string, string> = { 'User-Agent': USER_AGENT };
  for (const [name, value] of Object.entries(lane.target.config.headers ?? {})) {
    if (!(WEBHOOK_RESERVED_HEADERS as readonly string[]).includes(name.toLowerCase())) headers[name] = value;
  }
  return { ...headers, ...webhookHeaders(lane.app.key, lane.app.secret, body) };
}

/** Where delivery outcomes are counted (Prometheus), per app. */
export interface WebhookOutcomes {
  sent(appId: string): void;
  retried(appId: string): void;
  failed(appId: string): void;
}

export class Dispatcher extends LaneDrainer<Job, Lane> {
  protected readonly headSize = 1;

  constructor(
    queue: WebhookQueue,
    private readonly targets: TargetTable,
    private readonly settings: DeliverySettings,
    log: Logger,
    private readonly outcomes: WebhookOutcomes = { sent() {}, retried() {}, failed() {} },
    private readonly activity?: ActivityFeed,
    private readonly tracing: Tracing = NO_TRACING,
  ) {
    super(queue, log, 'webhook');
  }

  protected target(laneKey: string): Lane | undefined {
    const lane = this.targets.lane(laneKey);
    if (lane === undefined) this.log.warn({ lane: laneKey }, 'webhook lane has no configured target (config changed?); its jobs stay queued');
    return lane;
  }

  protected describe(lane: Lane): Record<string, unknown> {
    return { host: lane.target.host };
  }

  protected laneFull(laneKey: string): void {
    this.log.error({ host: this.targets.lane(laneKey)?.target.host }, 'webhook lane full (receiver too slow or down); new events for it are dropped');
  }

  /** Batching waits for the window from the oldest event, then takes up to MAX_BATCH. */
  protected override async batch(laneKey: string, head: Job[]): Promise<Job[] | undefined> {
    if (this.settings.batchMs <= 0) return head;
    const wait = head[0].t + this.settings.batchMs - Date.now();
    if (wait > 0) await this.sleep(wait);
    return this.stopping ? undefined : this.queue.head(laneKey, MAX_BATCH);
  }

  protected async deliver(lane: Lane, jobs: Job[]): Promise<boolean> {
    const body = webhookBody(Math.max(...jobs.map((j) => j.t)), jobs.map((j) => j.e));
    const deadline = Math.min(...jobs.map((j) => j.t)) + this.settings.retryWindowMs;
    const host = lane.target.host;
    for (let attempt = 0; ; attempt++) {
      const result = await this.send(lane, body, attempt + 1, jobs.length);
      if (typeof result === 'number' && result >= 200 && result < 300) {
        this.log.debug({ host, status: result, appId: lane.app.id, events: jobs.map((j) => `${j.e.name}@${j.e.channel}`) }, 'webhook sent');
        this.outcomes.sent(lane.app.id);
        if (this.activity?.wants.webhook) this.activity.emit({ kind: 'webhook', appId: lane.app.id, outcome: 'sent', url: originOf(lane.target.config.url), events: jobs.map((j) => j.e.name), status: result });
        return true;
      }
      if (result === 'stopped') return false;
      const backoff = Math.min(FIRST_RETRY_MS * 2 ** attempt, MAX_RETRY_MS);
      if (Date.now() + backoff > deadline) {
        this.outcomes.failed(lane.app.id);
        this.log.error({ host, status: result, attempts: attempt + 1, events: jobs.length, appId: lane.app.id }, 'webhook dropped: retry window over');
        if (this.activity?.wants.webhook) this.activity.emit({ kind: 'webhook', appId: lane.app.id, outcome: 'failed', url: originOf(lane.target.config.url), events: jobs.map((j) => j.e.name), ...attemptOutcome(result) });
        return true;
      }
      this.outcomes.retried(lane.app.id);
      this.log.warn({ host, status: result, retryInMs: backoff, appId: lane.app.id }, 'webhook failed; retrying');
      await this.sleep(backoff);
      if (this.stopping) return false;
    }
  }

  /** One POST; in a `broadcasty.webhook.send` span while tracing is on (the host only: the path and query may carry a token). */
  private async send(lane: Lane, body: string, attempt: number, events: number): Promise<Attempt> {
    const { url } = lane.target.config;
    if (!this.tracing.enabled) return post(url, requestHeaders(lane, body), body, this.settings.timeoutMs, this.stopSignal);
    const span = this.tracing.start('broadcasty.webhook.send', undefined, 'client');
    span.set('server.address', lane.target.host);
    span.set('broadcasty.app_id', lane.app.id);
    span.set('broadcasty.attempt', attempt);
    span.set('broadcasty.events_count', events);
    const result = await post(url, requestHeaders(lane, body), body, this.settings.timeoutMs, this.stopSignal);
    if (typeof result === 'number') span.set('http.response.status_code', result);
    if (typeof result !== 'number' || result < 200 || result >= 300) span.fail(typeof result === 'number' ? `HTTP ${result}` : result);
    span.end();
    return result;
  }
}
