// The client's channels: who listens on each, where each stands in its stream, and what every
// received channel frame means for them. Positions come from event frames and
// `subscription_succeeded` (docs/PROTOCOL.md §13.2, §13.3) into one PositionBook, which also drops
// the duplicates a resume replays; `broadcasty:resume_failed` reaches the listeners as
// `resume_failed` with the position the stream continues from.
import { PositionBook } from '../positions.js';
import { currentPositions, partitionOf, positionOf, resumeFailure } from '../resume.js';
import type { ChannelRequest } from './transport.js';
import { BroadcastyError, type Message, type StreamPosition } from './types.js';
import { dataRecord, errorOfStatus, toMessage, type Frame } from './wire.js';

export type SubscriptionError = BroadcastyError & { position?: StreamPosition };

/** One subscribe() or presence() of the app on a channel. */
export interface ChannelListener {
  deliver(message: Message): void;
  /** `dropped`: the subscription is gone (refused); else it goes on (resume_failed, fromSequence unusable). */
  fail(error: SubscriptionError, dropped: boolean): void;
  /** Presence rosters: subscription_succeeded, member_added, member_removed. */
  internal?(frame: Frame): void;
}

interface ChannelEntry {
  listeners: Set<ChannelListener>;
  /** `fromSequence` as a bare offset: it needs the epoch subscription_succeeded reports. */
  startOffset?: number;
  /** Re-subscribing from `startOffset`: live frames wait for the replay, which brings them again. */
  holding: boolean;
  /** A subscribe went out and neither its success nor its refusal came back yet. */
  pending: boolean;
  /** A channel `pusher:error` waiting for the subscription_error that carries the status. */
  refusal?: ReturnType<typeof setTimeout>;
}

/** How long a channel's `pusher:error` waits for its `pusher:subscription_error` (off when the app sets `subscriptionErrorFrames: false`). */
const REFUSAL_WAIT_MS = 1000;

export interface ChannelHost {
  /** Private and presence channels send the token as `auth` (§14.2). */
  token(): string | null;
  /** Subscribe again (ws) or reopen with the new set (sse, poll). */
  resubscribe(request: ChannelRequest): void;
  subscribe(request: ChannelRequest): void;
  unsubscribe(channel: string): void;
}

export class ChannelTable {
  private readonly entries = new Map<string, ChannelEntry>();
  private readonly book = new PositionBook();

  constructor(private readonly host: ChannelHost) {}

  /** Adds a listener; the first one of a channel subscribes it, from `from` when given. */
  add(channel: string, listener: ChannelListener, from?: number | StreamPosition): void {
    const existing = this.entries.get(channel);
    if (existing !== undefined) {
      if (from !== undefined) {
        listener.fail(new BroadcastyError('bad_request', `${channel} is already subscribed by this client: fromSequence only applies to its first subscription`), true);
        return;
      }
      existing.listeners.add(listener);
      return;
    }
    const entry: ChannelEntry = { listeners: new Set([listener]), holding: false, pending: false };
    if (typeof from === 'number') entry.startOffset = from;
    else if (from !== undefined) this.book.reset(channel, undefined, from);
    this.entries.set(channel, entry);
    this.host.subscribe(this.request(channel));
  }

  remove(channel: string, listener: ChannelListener): void {
    const entry = this.entries.get(channel);
    if (entry === undefined || !entry.listeners.delete(listener) || entry.listeners.size > 0) return;
    this.drop(channel, entry);
    this.host.unsubscribe(channel);
  }

  /** What a transport subscribes as it opens: every channel. */
  requests(): ChannelRequest[] {
    return [...this.entries.keys()].map((channel) => this.request(channel));
  }

  channels(): string[] {
    return [...this.entries.keys()];
  }

  /** A refused subscribe over SSE or poll (§15.1): the channel's listeners hear why, and it is dropped. */
  refuse(channel: string, error: BroadcastyError): boolean {
    const entry = this.entries.get(channel);
    if (entry === undefined) return false;
    this.refused(channel, entry, error);
    this.host.unsubscribe(channel);
    return true;
  }

  /** Every frame that names a channel. */
  frame(channel: string, frame: Frame): void {
    const entry = this.entries.get(channel);
    if (entry === undefined) return;
    switch (frame.event) {
      case 'pusher_internal:subscription_succeeded':
        return this.succeeded(channel, entry, frame);
      case 'pusher_internal:member_added':
      case 'pusher_internal:member_removed':
        for (const listener of entry.listeners) listener.internal?.(frame);
        return;
      case 'pusher:subscription_error': {
        const data = dataRecord(frame);
        const status = typeof data.status === 'number' ? data.status : undefined;
        return this.refused(channel, entry, errorOfStatus(status, `subscription to ${channel} refused: ${String(data.error ?? frame.data)}`));
      }
      case 'pusher:error':
        return this.channelError(channel, entry, frame);
      case 'broadcasty:resume_failed':
        return this.resumeFailed(channel, entry, frame);
    }
    if (frame.event.startsWith('pusher_internal:') || frame.event.startsWith('pusher:') || entry.holding) return;
    const position = positionOf(frame);
    if (position !== undefined && !this.book.advance(channel, partitionOf(frame), position)) return;
    const message = toMessage(channel, frame);
    for (const listener of entry.listeners) listener.deliver(message);
  }

  close(): void {
    for (const [channel, entry] of this.entries) this.drop(channel, entry);
  }

  private request(channel: string): ChannelRequest {
    this.entries.get(channel)!.pending = true;
    const needsToken = channel.startsWith('private-') || channel.startsWith('presence-');
    const request: ChannelRequest = { channel, auth: needsToken ? (this.host.token() ?? '') : '' };
    const resume = this.book.resumeOf(channel);
    if (resume !== undefined) request.resume = resume;
    return request;
  }

  private succeeded(channel: string, entry: ChannelEntry, frame: Frame): void {
    clearTimeout(entry.refusal);
    entry.pending = false;
    entry.holding = false;
    const positions = currentPositions(frame);
    for (const { partition, position } of positions) this.book.baseline(channel, partition, position);
    for (const listener of entry.listeners) listener.internal?.(frame);
    if (entry.startOffset === undefined) return;
    const offset = entry.startOffset;
    entry.startOffset = undefined;
    const current = positions.find(({ partition }) => partition === undefined || partition === 0);
    if (current === undefined) {
      for (const listener of entry.listeners) listener.fail(new BroadcastyError('unsupported', `fromSequence needs a history channel: ${channel} reports no stream position (no history rule covers it, or the server has no Broadcasty extensions)`), false);
      return;
    }
    // Now the epoch is known: subscribe again from the offset; what arrives meanwhile comes again in the replay.
    this.book.reset(channel, current.partition, { epoch: current.position.epoch, offset });
    entry.holding = true;
    this.host.resubscribe(this.request(channel));
  }

  private channelError(channel: string, entry: ChannelEntry, frame: Frame): void {
    // On a subscribed channel it is about something else (a client event): the subscription stands.
    if (!entry.pending) return;
    const message = String(dataRecord(frame).message ?? 'refused');
    clearTimeout(entry.refusal);
    entry.refusal = setTimeout(() => this.refused(channel, entry, new BroadcastyError('forbidden', `subscription to ${channel} refused: ${message}`)), REFUSAL_WAIT_MS);
  }

  private resumeFailed(channel: string, entry: ChannelEntry, frame: Frame): void {
    const failure = resumeFailure(frame.data);
    if (failure === undefined) return;
    const position = { epoch: failure.epoch, offset: failure.offset };
    this.book.reset(channel, failure.partition, position);
    const where = failure.partition === undefined ? '' : ` partition ${failure.partition}`;
    for (const listener of entry.listeners) {
      const error: SubscriptionError = Object.assign(new BroadcastyError('resume_failed', `${channel}${where} cannot resume (${failure.reason}): events were lost, it continues from offset ${failure.offset} of epoch ${failure.epoch}`), { position });
      listener.fail(error, false);
    }
  }

  private refused(channel: string, entry: ChannelEntry, error: BroadcastyError): void {
    if (this.entries.get(channel) !== entry) return;
    this.drop(channel, entry);
    for (const listener of entry.listeners) listener.fail(error, true);
  }

  private drop(channel: string, entry: ChannelEntry): void {
    clearTimeout(entry.refusal);
    this.entries.delete(channel);
    this.book.forget(channel);
  }
}
