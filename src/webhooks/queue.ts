// What the webhook queue holds: one event per job, in the shared lane queue (src/queue/).
import type { WebhookEvent } from '../../protocol/index.js';
import type { LaneQueue } from '../queue/lane-queue.js';

export interface Job {
  /** When the event happened, ms: the body's time_ms and the start of its retry window. */
  t: number;
  e: WebhookEvent;
}

export type WebhookQueue = LaneQueue<Job>;
