// One page of a history channel's stored events (docs/PROTOCOL.md §13.6): what the signed HTTP
// endpoint answers and what the JWT replay endpoint will answer, from the engine's stream read.
import type { History } from '../engine/types.js';
import type { HistorySpec } from './rules.js';

/** Validated page parameters. */
export interface PageQuery {
  /** First offset wanted; 1 = the oldest stored. */
  from: number;
  limit: number;
  partition: number;
}

export interface HistoryEvent {
  offset: number;
  event: string;
  data: string;
  /** The sender's presence user id, on client events in presence channels. */
  user_id?: string;
}

export interface HistoryPage {
  channel: string;
  partition: number;
  epoch: string;
  /** The stream's current offset: its last event's (0 before any). */
  offset: number;
  /** Oldest offset still stored (offset + 1 when nothing is). */
  first: number;
  events: HistoryEvent[];
  /** `from` of the following page; null once a page reached the current offset. */
  next: number | null;
}

/** The fields of a stored frame a page shows; the stored frame also carries channel and position. */
interface StoredFrame {
  event: string;
  data: string;
  user_id?: string;
}

export const PAGE_LIMIT = { default: 100, max: 1000 } as const;

export async function readPage(history: History, appId: string, channel: string, spec: HistorySpec, query: PageQuery): Promise<HistoryPage> {
  const read = await history.readHistory(appId, channel, query.partition, query.from, query.limit, spec.retention);
  // Not the fan-out path: one parse per event read, so the page needs no second copy of each event's fields.
  const events = read.entries.map(({ offset, frame }): HistoryEvent => {
    const stored = JSON.parse(frame) as StoredFrame;
    const event: HistoryEvent = { offset, event: stored.event, data: stored.data };
    if (stored.user_id !== undefined) event.user_id = stored.user_id;
    return event;
  });
  const last = events.length === 0 ? undefined : events[events.length - 1].offset;
  return {
    channel,
    partition: query.partition,
    epoch: read.position.epoch,
    offset: read.position.offset,
    first: read.first,
    events,
    next: last !== undefined && last < read.position.offset ? last + 1 : null,
  };
}
