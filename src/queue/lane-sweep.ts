// The one timer of a lane queue's owner (webhooks, push): it releases delayed jobs that are due
// and, less often, renews this node's Redis claims and recovers lanes a dead node left, instead
// of a timer per job. A sweep still running when the next is due is skipped, not stacked.
import type { Logger } from '../logger.js';
import type { LaneQueue } from './lane-queue.js';

export interface LaneSweepOptions {
  everyMs: number;
  /** Claims are maintained every this many sweeps. */
  maintainEvery: number;
  /** Apps whose due jobs are released, and the lanes maintained: read at each sweep (they grow). */
  appIds(): string[];
  lanes(): string[];
  draining: ReadonlySet<string>;
  log: Logger;
  /** The log line when a sweep fails. */
  failure: string;
}

/** Starts sweeping at once; the answer stops it. */
export function startLaneSweep<J>(queue: LaneQueue<J>, options: LaneSweepOptions): () => void {
  let ticks = 0;
  let sweeping = false;
  const sweep = async () => {
    if (sweeping) return;
    sweeping = true;
    try {
      await queue.releaseDue(options.appIds(), Date.now());
      if (ticks++ % options.maintainEvery === 0) await queue.maintain(options.lanes(), options.draining);
    } catch (err) {
      options.log.error({ err: (err as Error).message }, options.failure);
    } finally {
      sweeping = false;
    }
  };
  const timer = setInterval(() => void sweep(), options.everyMs);
  timer.unref();
  void sweep();
  return () => clearInterval(timer);
}
