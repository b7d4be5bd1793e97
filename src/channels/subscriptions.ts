// pusher:subscribe / pusher:unsubscribe and the side effects of joining and leaving
// (docs/PROTOCOL.md §2.5-§2.7, §2.12, §2.13).
import {
  cacheMiss,
  channelNameError,
  channelType,
  encodeEvent,
  memberAdded,
  memberRemoved,
  subscribeData,
  subscriptionError,
  subscriptionSucceeded,
  unsubscribeData,
  parseFrameData,
  serverToUserChannel,
  type ChannelKind,
  type PresenceRoster,
} from '../../protocol/index.js';
import { socketRefused } from '../activity/auth-failures.js';
import type { App } from '../apps/registry.js';
import type { Principal } from '../auth/types.js';
import type { ChannelContext } from '../context.js';
import { historyFor, type HistorySpec } from '../history/rules.js';
import type { OpenConnection } from '../hub/connection.js';
import type { Membership } from '../hub/hub.js';
import type { PresenceMember } from '../engine/types.js';
import { announce } from '../publish/announce.js';
import { authorize, authorizeWithTokens } from './authorize.js';
import { HistoryCatchUp, resumePoints, type ResumePoint } from './resume.js';
import type { SubscriptionCounts } from './subscription-counts.js';

/** A subscribe to a history channel (docs/PROTOCOL.md §13.3): its rule, and where the client resumes from. */
interface HistoryJoin {
  spec: HistorySpec;
  points: ResumePoint[] | undefined;
}

export class Subscriptions {
  constructor(
    private readonly ctx: ChannelContext,
    private readonly membership: Membership,
    private readonly counts: SubscriptionCounts,
  ) {}

  async subscribe(connection: OpenConnection, data: unknown): Promise<void> {
    const app = connection.app;
    const parsed = parseFrameData(subscribeData, data, 'subscribe');
    if (!parsed.ok) {
      connection.error(null, parsed.message);
      return;
    }
    const request = parsed.value;
    const { channel } = request;
    const nameError = channelNameError(channel, app.maxChannelNameLength);
    if (nameError !== null && !isOwnTokenUserChannel(connection, channel)) {
      this.reject(connection, channel, nameError, 'InvalidChannel', 400);
      return;
    }
    if (connection.subscriptions.has(channel) || connection.joining?.has(channel)) {
      connection.error(null, `Existing subscription to channel ${channel}`, channel);
      return;
    }
    // Each subscription holds memory on this node and in the engine: one socket must not hold unbounded amounts.
    const limit = this.ctx.config.maxChannelsPerConnection;
    if (connection.subscriptions.size + (connection.joining?.size ?? 0) >= limit) {
      this.reject(connection, channel, `Too many channels: at most ${limit} subscriptions per connection`, 'LimitReached', 4100);
      return;
    }
    const type = channelType(channel);
    // A `resume` on a channel without history is ignored; server-to-user channels keep none.
    const spec = type.kind === 'server-to-user' ? undefined : historyFor(app, channel);
    let history: HistoryJoin | undefined;
    if (spec !== undefined) {
      const points = request.resume === undefined ? undefined : resumePoints(request.resume, spec);
      if (typeof points === 'string') {
        connection.error(null, `Invalid subscribe message: ${points}`);
        return;
      }
      history = { spec, points };
    }
    (connection.joining ??= new Set()).add(channel);
    try {
      // An app in `hmac` mode checks signatures synchronously, as before JWTs (docs/PROTOCOL.md §14.1).
      const authorization =
        app.authMode === 'hmac' ? authorize(app, connection, type.kind, request) : await authorizeWithTokens(this.ctx.engine, app, connection, type.kind, request);
      if (!authorization.ok) {
        this.reject(connection, channel, authorization.message, authorization.status === 503 ? 'ServiceUnavailable' : 'AuthError', authorization.status);
        if (authorization.status !== 503) socketRefused(this.ctx.activity, app, connection, 'subscribe', authorization.message, channel);
        return;
      }
      await this.join(connection, app, channel, type.kind, type.cache, authorization.member, history, authorization.principal);
    } finally {
      connection.joining!.delete(channel);
      if (connection.joining!.size === 0) connection.joining = undefined;
    }
  }

  private async join(
    connection: OpenConnection,
    app: App,
    channel: string,
    kind: ChannelKind,
    cache: boolean,
    member: PresenceMember | undefined,
    history: HistoryJoin | undefined,
    principal: Principal | undefined,
  ): Promise<void> {
    const { engine } = this.ctx;
    if (connection.closed) return;
    const presence = member === undefined ? undefined : { userId: member.userId, rawUserId: member.rawUserId };
    if (kind === 'server-to-user') {
      // Delivery to signed-in users rides on the signin topic; the explicit subscribe is an ack.
      connection.addSubscription(channel, { kind });
      connection.send(subscriptionSucceeded(channel));
      this.ctx.log.debug({ appId: app.id, socketId: connection.socketId, channel }, 'subscribed');
      return;
    }
    // The member limit is checked and applied in one engine step, cluster-wide.
    const joined = member === undefined ? undefined : await engine.join(app.id, channel, connection.socketId, member, app.maxPresenceMembers);
    if (joined?.status === 'full') {
      this.reject(connection, channel, 'The maximum members per presence channel limit was reached', 'LimitReached', 4100);
      return;
    }
    const firstForUser = joined?.firstForUser ?? false;
    const roster = joined === undefined ? undefined : rosterOf(joined.roster);
    const count = await engine.addSubscription(app.id, channel, connection.socketId);
    // The close handler only leaves channels that finished joining: a half-join is undone here,
    // without announcing anything, so no ghost member or count stays behind.
    const undo = async () => {
      if (member !== undefined) await engine.leave(app.id, channel, connection.socketId, member.userId);
      await engine.removeSubscription(app.id, channel, connection.socketId);
    };
    if (connection.closed) return undo();
    // Live frames are held from before the streams are read to the end of the replay (resume.ts).
    const held = history === undefined ? undefined : this.membership.hold(app.id, channel, connection);
    try {
      const catchUp =
        history &&
        (await HistoryCatchUp.read(engine, app.id, channel, history.spec, history.points).catch(async (error: unknown) => {
          await undo();
          throw error;
        }));
      if (connection.closed) return undo();
      connection.addSubscription(channel, principal === undefined ? { kind, presence } : { kind, presence, principal });
      // Only a token that opened a subscription bounds the connection's life (docs/PROTOCOL.md §14.2).
      if (principal !== undefined) connection.usedToken(principal);
      if (held === undefined) this.membership.join(app.id, channel, connection);
      connection.send(subscriptionSucceeded(channel, roster, catchUp?.positions));
      this.ctx.log.debug({ appId: app.id, socketId: connection.socketId, channel, userId: member?.userId }, 'subscribed');
      if (this.ctx.activity.wants.subscribe) this.ctx.activity.emit({ kind: 'subscribe', appId: app.id, channel, socketId: connection.socketId, userId: member?.userId ?? connection.user?.id });
      if (count === 1) this.ctx.observer.channelOccupied(app, channel);
      if (member !== undefined && firstForUser) {
        await announce(engine, app.id, channel, memberAdded(channel, member.rawUserId, member.info), connection.socketId);
        this.ctx.observer.memberAdded(app, channel, member.userId);
      }
      if (catchUp !== undefined) await catchUp.finish(connection, held!, this.membership, this.ctx.log);
      // A resumed subscriber got the missed events themselves: the cached last one would repeat one.
      if (cache && history?.points === undefined) await this.sendCached(connection, app, channel);
      if (member === undefined) this.counts.changed(app, channel, count);
    } finally {
      if (held !== undefined) this.membership.release(held);
    }
  }

  private async sendCached(connection: OpenConnection, app: App, channel: string): Promise<void> {
    const cached = await this.ctx.engine.getCache(app.id, channel);
    if (cached !== undefined) {
      connection.send(encodeEvent(cached.event, cached.data, channel));
      return;
    }
    connection.send(cacheMiss(channel));
    this.ctx.observer.cacheMiss(app, channel);
  }

  private reject(connection: OpenConnection, channel: string, message: string, type: string, status: number): void {
    this.ctx.log.debug({ appId: connection.app.id, socketId: connection.socketId, channel, reason: message }, 'subscription refused');
    connection.error(null, message, channel);
    if (connection.app.subscriptionErrorFrames) connection.send(subscriptionError(channel, type, message, status));
  }

  async unsubscribe(connection: OpenConnection, data: unknown): Promise<void> {
    const parsed = parseFrameData(unsubscribeData, data, 'unsubscribe');
    if (!parsed.ok) {
      connection.error(null, parsed.message);
      return;
    }
    // Unsubscribing from a channel the socket is not in is ignored, as soketi and Reverb do.
    if (!connection.subscriptions.has(parsed.value.channel)) return;
    await this.leave(connection, parsed.value.channel);
  }

  /** Leaves every channel: the implicit unsubscribe of a closing socket. */
  async leaveAll(connection: OpenConnection): Promise<void> {
    await Promise.all([...connection.subscriptions.keys()].map((channel) => this.leave(connection, channel)));
  }

  private async leave(connection: OpenConnection, channel: string): Promise<void> {
    const app = connection.app;
    const subscription = connection.subscriptions.get(channel);
    if (subscription === undefined) return;
    connection.removeSubscription(channel);
    this.ctx.log.debug({ appId: app.id, socketId: connection.socketId, channel }, 'unsubscribed');
    if (this.ctx.activity.wants.unsubscribe) this.ctx.activity.emit({ kind: 'unsubscribe', appId: app.id, channel, socketId: connection.socketId, userId: subscription.presence?.userId ?? connection.user?.id });
    if (subscription.kind === 'server-to-user') return;
    const { engine, observer } = this.ctx;
    this.membership.leave(app.id, channel, connection);
    const presence = subscription.presence;
    if (presence !== undefined && (await engine.leave(app.id, channel, connection.socketId, presence.userId))) {
      await announce(engine, app.id, channel, memberRemoved(channel, presence.rawUserId));
      observer.memberRemoved(app, channel, presence.userId);
    }
    const remaining = await engine.removeSubscription(app.id, channel, connection.socketId);
    if (remaining === 0) observer.channelVacated(app, channel);
    if (presence === undefined) this.counts.changed(app, channel, remaining);
  }
}

/**
 * A JWT-signed-in socket's `#server-to-user-{tid}.{sub}` (docs/PROTOCOL.md §14.2): pusher-js
 * subscribes it after signin_success, and the id, which is exactly this connection's user, may
 * hold characters (from `sub`) or a length the channel grammar does not allow.
 */
function isOwnTokenUserChannel(connection: OpenConnection, channel: string): boolean {
  return connection.principal !== undefined && connection.user !== undefined && channel === serverToUserChannel(connection.user.id);
}

export function rosterOf(members: Map<string, PresenceMember>): PresenceRoster {
  // Null prototype: a member id "__proto__" must become a key, not replace the prototype.
  const hash: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [id, member] of members) hash[id] = member.info ?? null;
  return { count: members.size, ids: [...members.keys()], hash };
}
