// Drains the lanes of a LaneQueue: one loop per lane this node owns, reading the lane's head,
// handing it to the subclass to deliver and acknowledging it once delivered (or given up). The
// loops stop within a grace time; waits (backoff, batching) are cut short by a stop. Webhooks
// (src/webhooks/delivery.ts) and push sends (src/push/delivery.ts) differ only in what a lane
// delivers to and how a batch is sent.
import type { Logger } from '../logger.js';
import type { LaneQueue } from './lane-queue.js';

/** `J` is the queue's job, `T` what a lane's name stands for (its target). */
export abstract class LaneDrainer<J, T> {
  /** Lanes with a running drain loop. */
  readonly draining = new Set<string>();
  /** Lanes handed to us while their loop was finishing: it must look once more before exiting. */
  private readonly rekicked = new Set<string>();
  private readonly loops = new Set<Promise<void>>();
  /** Set by stop(): loops exit at their next step. */
  private halted = false;
  /** Aborts in-flight sends once stop()'s grace time is over. */
  private readonly stopper = new AbortController();
  /** Resolvers of the loops' timed waits, so stop() can cut them short. */
  private readonly wake = new Set<() => void>();
  /** Lanes that refused a job since they were last empty. */
  private readonly full = new Set<string>();

  /** `kind` names the lanes in log lines ("webhook", "push"). */
  constructor(
    protected readonly queue: LaneQueue<J>,
    protected readonly log: Logger,
    private readonly kind: string,
  ) {
    queue.onOwned = (lanes) => {
      for (const lane of lanes) this.own(lane);
    };
    queue.onFull = (lane) => {
      // One line per lane per episode: a flood of identical lines would bury the cause.
      if (this.full.has(lane)) return;
      this.full.add(lane);
      this.laneFull(lane);
    };
  }

  /** Jobs the first read of a lane's head takes. */
  protected abstract readonly headSize: number;
  /** The lane's target; undefined when there is none (the loop logs why and ends, jobs stay queued). */
  protected abstract target(lane: string): T | undefined;
  /** Log fields naming the lane's target. */
  protected abstract describe(target: T): Record<string, unknown>;
  /** Logs that a lane refused a job (once per episode). */
  protected abstract laneFull(lane: string): void;
  /** True once the jobs are done with (delivered or given up); false when stopped mid-way. */
  protected abstract deliver(target: T, jobs: J[]): Promise<boolean>;

  /** The jobs one delivery takes, given the head's first read; undefined when stopped meanwhile. */
  protected async batch(_lane: string, head: J[]): Promise<J[] | undefined> {
    return head;
  }

  /** True once stop() has begun (or its grace is over): loops finish the step they are in. */
  protected get stopping(): boolean {
    return this.halted;
  }

  /** Aborted once stop()'s grace time is over: in-flight sends give up. */
  protected get stopSignal(): AbortSignal {
    return this.stopper.signal;
  }

  own(lane: string): void {
    if (this.halted) return;
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
   * they stop at once and only in-flight sends get the grace. Jobs not acknowledged stay queued.
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

  /** Waits `ms`, or less when stop() begins. */
  protected sleep(ms: number): Promise<void> {
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

  private halt(): void {
    this.halted = true;
    for (const wake of [...this.wake]) wake();
  }

  private async drain(lane: string): Promise<void> {
    const target = this.target(lane);
    if (target === undefined) return;
    try {
      while (!this.halted) {
        this.rekicked.delete(lane);
        const head = await this.queue.head(lane, this.headSize);
        if (head.length === 0) {
          this.full.delete(lane);
          if ((await this.queue.release(lane)) && !this.rekicked.has(lane)) return;
          continue;
        }
        const jobs = await this.batch(lane, head);
        if (jobs === undefined || !(await this.deliver(target, jobs))) return;
        if (!(await this.queue.ack(lane, jobs.length))) {
          this.log.warn(this.describe(target), `${this.kind} lane claimed by another node; stopping here`);
          return;
        }
      }
    } catch (err) {
      // Queue trouble (Redis down): the jobs stay queued and the queue's maintenance re-claims the lane later.
      this.log.error({ err: (err as Error).message, ...this.describe(target) }, `${this.kind} lane stalled`);
    }
  }
}
