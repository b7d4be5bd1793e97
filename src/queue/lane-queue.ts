// A lane queue behind one interface: in memory here, in Redis (redis-lane-queue.ts) when the
// server is clustered. Webhooks and push sends both go through it, each with its own job type.
// It holds two things: delayed jobs that a later push can still cancel (webhooks hold
// channel_vacated and member_removed this way), and per-lane FIFOs of jobs waiting for delivery.
// A lane's head stays in the queue until it is acknowledged, so a crash mid-delivery loses nothing.

/**
 * Jobs one lane may hold. A receiver that hangs drains a lane at one job per timeout, so without
 * a cap a busy app would grow the queue without bound; past it new jobs are dropped and logged.
 */
export const MAX_LANE_JOBS = 10_000;

/** `J` is the job as stored: it must survive a JSON round trip (the Redis queue stores JSON). */
export interface LaneQueue<J> {
  /**
   * Appends the job to each lane, unless `cancelKey` names a delayed event still pending: then
   * that event is dropped and so is this one (a leave-and-rejoin is reported as nothing).
   * Lanes this node must now drain are reported through `onOwned`. Never blocks the caller.
   */
  push(appId: string, lanes: string[], job: J, cancelKey?: string): void;
  /** Holds the job until `dueAt`, then pushes it to its lanes; a push with the same key cancels it. */
  delay(appId: string, cancelKey: string, dueAt: number, lanes: string[], job: J): void;
  /** Moves every delayed job that is due into its lanes. Called by the sweep. */
  releaseDue(appIds: string[], now: number): Promise<void>;
  /** Up to `max` jobs from the lane's head, left in place until `ack`. */
  head(lane: string, max: number): Promise<J[]>;
  /** Drops `count` jobs from the head; false when this node lost the lane and must stop draining it. */
  ack(lane: string, count: number): Promise<boolean>;
  /** Gives up an empty lane; false when jobs arrived meanwhile and draining must go on. */
  release(lane: string): Promise<boolean>;
  /** Keeps this node's claims alive and claims lanes a dead node left behind (clustered only). */
  maintain(lanes: string[], draining: ReadonlySet<string>): Promise<void>;
  /** Stops; `drainingLanes` are handed back so another node can take them at once. */
  close(drainingLanes: readonly string[]): Promise<void>;
  /** Jobs waiting in these lanes (for the queue-depth gauge). */
  depth(lanes: string[]): Promise<number>;
  /** Set by the dispatcher: called with lanes that hold jobs and belong to this node now. */
  onOwned: (lanes: string[]) => void;
  /** Set by the dispatcher: called when a full lane refused a job. */
  onFull: (lane: string) => void;
}

/** One process: no claims, nothing survives a restart. */
export class MemoryLaneQueue<J> implements LaneQueue<J> {
  onOwned: (lanes: string[]) => void = () => {};
  onFull: (lane: string) => void = () => {};
  private readonly lanes = new Map<string, J[]>();
  /**
   * Keyed `<appId>\0<cancelKey>`, in insertion order (a re-delay is deleted and re-inserted).
   * Delays differ in length (push retries), so the sweep looks at every entry; entries of one
   * length (webhooks) still come out in due order.
   */
  private readonly delayed = new Map<string, { dueAt: number; lanes: string[]; job: J }>();

  /** Like LaneQueue.push, and says at once whether every lane took the job (false: cancelled, or a lane full). */
  push(appId: string, lanes: string[], job: J, cancelKey?: string): boolean {
    if (cancelKey !== undefined && this.delayed.delete(`${appId}\u0000${cancelKey}`)) return false;
    return this.append(lanes, job);
  }

  delay(appId: string, cancelKey: string, dueAt: number, lanes: string[], job: J): void {
    const key = `${appId}\u0000${cancelKey}`;
    this.delayed.delete(key);
    this.delayed.set(key, { dueAt, lanes, job });
  }

  async releaseDue(_appIds: string[], now: number): Promise<void> {
    for (const [key, entry] of this.delayed) {
      if (entry.dueAt > now) continue;
      this.delayed.delete(key);
      this.append(entry.lanes, entry.job);
    }
  }

  async head(lane: string, max: number): Promise<J[]> {
    return this.lanes.get(lane)?.slice(0, max) ?? [];
  }

  async ack(lane: string, count: number): Promise<boolean> {
    this.lanes.get(lane)?.splice(0, count);
    return true;
  }

  async release(lane: string): Promise<boolean> {
    if ((this.lanes.get(lane)?.length ?? 0) > 0) return false;
    this.lanes.delete(lane);
    return true;
  }

  async maintain(): Promise<void> {}

  async depth(lanes: string[]): Promise<number> {
    return lanes.reduce((sum, lane) => sum + (this.lanes.get(lane)?.length ?? 0), 0);
  }

  /** How many jobs a stop would lose (delayed ones included), for the shutdown log line. */
  pending(): number {
    let count = this.delayed.size;
    for (const jobs of this.lanes.values()) count += jobs.length;
    return count;
  }

  async close(): Promise<void> {}

  private append(lanes: string[], job: J): boolean {
    if (lanes.length === 0) return true;
    let taken = true;
    for (const lane of lanes) {
      const jobs = this.lanes.get(lane);
      if (jobs === undefined) this.lanes.set(lane, [job]);
      else if (jobs.length < MAX_LANE_JOBS) jobs.push(job);
      else {
        taken = false;
        this.onFull(lane);
      }
    }
    this.onOwned(lanes);
    return taken;
  }
}
