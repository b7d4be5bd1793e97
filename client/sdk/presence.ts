// A presence channel's roster (docs/PROTOCOL.md §2.5, §2.7): `members` from the
// subscription_succeeded presence hash (again after every reconnect), then join and leave from
// member_added / member_removed. With a JWT the member is the token's `sub` (§14.2).
import type { ChannelListener, SubscriptionError } from './channels.js';
import type { Message, Presence, PresenceMember } from './types.js';
import { dataRecord, type Frame } from './wire.js';

type RosterEvent = 'members' | 'join' | 'leave';

export class PresenceRoom implements Presence, ChannelListener {
  private readonly roster = new Map<string, unknown>();
  private readonly handlers: Record<RosterEvent, Set<(value: never) => void>> = { members: new Set(), join: new Set(), leave: new Set() };

  constructor(
    readonly channel: string,
    private readonly onClose: (room: PresenceRoom) => void,
    private readonly onError: (error: SubscriptionError) => void,
    private readonly onHandlerError: (event: RosterEvent, error: unknown) => void,
  ) {}

  get members(): ReadonlyMap<string, unknown> {
    return this.roster;
  }

  on(event: 'members', handler: (members: ReadonlyMap<string, unknown>) => void): () => void;
  on(event: 'join' | 'leave', handler: (member: PresenceMember) => void): () => void;
  on(event: RosterEvent, handler: (value: never) => void): () => void {
    this.handlers[event].add(handler);
    return () => this.handlers[event].delete(handler);
  }

  close(): void {
    this.onClose(this);
  }

  deliver(_message: Message): void {
    // The roster listens to member frames only; events on the channel go to subscribe().
  }

  fail(error: SubscriptionError): void {
    this.onError(error);
  }

  internal(frame: Frame): void {
    const data = dataRecord(frame);
    if (frame.event === 'pusher_internal:subscription_succeeded') {
      const presence = data.presence as { hash?: Record<string, unknown> } | undefined;
      this.roster.clear();
      for (const [id, info] of Object.entries(presence?.hash ?? {})) this.roster.set(id, info);
      this.emit('members', this.roster);
      return;
    }
    if (data.user_id === undefined || data.user_id === null) return;
    const id = String(data.user_id);
    if (frame.event === 'pusher_internal:member_added') {
      const member = { id, info: data.user_info ?? null };
      this.roster.set(id, member.info);
      this.emit('join', member);
    } else if (this.roster.has(id)) {
      const member = { id, info: this.roster.get(id) };
      this.roster.delete(id);
      this.emit('leave', member);
    }
  }

  private emit(event: RosterEvent, value: unknown): void {
    for (const handler of this.handlers[event]) {
      // A throwing app handler must not break the transport's frame loop nor the other handlers.
      try {
        (handler as (value: unknown) => void)(value);
      } catch (error) {
        this.onHandlerError(event, error);
      }
    }
  }
}
