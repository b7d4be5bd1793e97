// Drains lanes: one loop per lane this node owns, one POST in flight per lane. Batching waits
// for the window, failures back off 1 s, 2 s, 4 s … (capped at 60 s) until the retry window
// closes, then the jobs are dropped with a log line. Only the target's host and the status are
// logged: URLs may carry tokens, and bodies and headers carry signatures.
import { webhookBody, webhookHeaders, WEBHOOK_RESERVED_HEADERS } from '../../protocol/index.js';
import type { Logger } from '../logger.js';
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

export class Dispatcher {
  /** Lanes with a running drain loop. */
  readonly draining = new Set<string>();
  /** Lanes handed to us while their loop was finishing: it must look once more before exiting. */
  private readonly rekicked = new Set<string>();
  private readonly loops = new Set<Promise<void>>();
  /** Set by stop(): loops exit at their next step. */
  private stopping = false;
  /** Aborts in-flight POSTs once stop()'s grace time is over. */
  private readonly stopper = new AbortController();
  /** Resolvers of the loops' timed waits, so stop() can cut them short. */
  private readonly wake = new Set<() => void>();
  /** Lanes that refused a job since they were last empty. */
  private readonly full = new Set<string>();

  constructor(
    private readonly queue: WebhookQueue,
    private readonly targets: TargetTable,
    private readonly settings: DeliverySettings,
    private readonly log: Logger,
    private readonly outcomes: WebhookOutcomes = { sent() {}, retried() {}, failed() {} },
  ) {
    queue.onOwned = (lanes) => {
      for (const lane of lanes) this.own(lane);
    };
    queue.onFull = (lane) => {
      // One line per lane per episode: a flood of identical lines would bury the cause.
      if (this.full.has(lane)) return;
      this.full.add(lane);
      this.log.error({ host: this.targets.lane(lane)?.target.host }, 'webhook lane full (receiver too slow or down); new events for it are dropped');
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

  /**
   * Stops within `graceMs`. `finishQueued` (memory queue: what is not sent now is lost) keeps
   * the loops delivering until the grace is over; otherwise (Redis: another node carries on)
   * they stop at once and only in-flight POSTs get the grace. Jobs not acknowledged stay queued.
   */
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

  private async drain(laneKey: string): Promise<void> {
    const lane = this.targets.lane(laneKey);
    if (lane === undefined) {
      this.log.warn({ lane: laneKey }, 'webhook lane has no configured target (config changed?); its jobs stay queued');
      return;
    }
    try {
      while (!this.stopping) {
        this.rekicked.delete(laneKey);
        let jobs = await this.queue.head(laneKey, 1);
        if (jobs.length === 0) {
          this.full.delete(laneKey);
          if ((await this.queue.release(laneKey)) && !this.rekicked.has(laneKey)) return;
          continue;
        }
        if (this.settings.batchMs > 0) {
          const wait = jobs[0].t + this.settings.batchMs - Date.now();
          if (wait > 0) await this.sleep(wait);
          if (this.stopping) return;
          jobs = await this.queue.head(laneKey, MAX_BATCH);
        }
        if (!(await this.deliver(lane, jobs))) return;
        if (!(await this.queue.ack(laneKey, jobs.length))) {
          this.log.warn({ host: lane.target.host }, 'webhook lane claimed by another node; stopping here');
          return;
        }
      }
    } catch (err) {
      // Queue trouble (Redis down): the jobs stay queued and the sweep re-claims the lane later.
      this.log.error({ err: (err as Error).message, host: lane.target.host }, 'webhook lane stalled');
    }
  }

  /** True once the jobs are done with (delivered or given up); false when stopped mid-way. */
  private async deliver(lane: Lane, jobs: Job[]): Promise<boolean> {
    const body = webhookBody(Math.max(...jobs.map((j) => j.t)), jobs.map((j) => j.e));
    const deadline = Math.min(...jobs.map((j) => j.t)) + this.settings.retryWindowMs;
    const host = lane.target.host;
    for (let attempt = 0; ; attempt++) {
      const result = await post(lane.target.config.url, requestHeaders(lane, body), body, this.settings.timeoutMs, this.stopper.signal);
      if (typeof result === 'number' && result >= 200 && result < 300) {
        this.log.debug({ host, status: result, appId: lane.app.id, events: jobs.map((j) => `${j.e.name}@${j.e.channel}`) }, 'webhook sent');
        this.outcomes.sent(lane.app.id);
        return true;
      }
      if (result === 'stopped') return false;
      const backoff = Math.min(FIRST_RETRY_MS * 2 ** attempt, MAX_RETRY_MS);
      if (Date.now() + backoff > deadline) {
        this.outcomes.failed(lane.app.id);
        this.log.error({ host, status: result, attempts: attempt + 1, events: jobs.length, appId: lane.app.id }, 'webhook dropped: retry window over');
        return true;
      }
      this.outcomes.retried(lane.app.id);
      this.log.warn({ host, status: result, retryInMs: backoff, appId: lane.app.id }, 'webhook failed; retrying');
      await this.sleep(backoff);
      if (this.stopping) return false;
    }
  }
}
