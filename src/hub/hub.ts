// This node's connections and who receives what: channel membership, signed-in users and
// watchers, and the local end of engine delivery, for every subscriber kind. Sockets whose
// transport fans out natively (uWS topics) are subscribed to topics, so per-subscriber work for
// them stays in C++; other kinds (an HTTP stream, a polling session, an internal tap) are kept
// here per topic and get the same frame string from the same deliver call.
import { ErrorCode, ErrorMessage, serverToUserChannel, watchlistEvents } from '../../protocol/index.js';
import type { LocalDelivery } from '../engine/types.js';
import type { Transport } from '../transport/types.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Connection, OpenConnection } from './connection.js';
import { HeldFrames, type LiveFilter } from './held-frames.js';
import type { SlowConsumers } from './slow-consumers.js';

/** A WebSocket frame header is at most 14 bytes; a UTF-16 code unit is at most 3 UTF-8 bytes. */
const FRAME_HEADER_BYTES = 14;
const MAX_UTF8_PER_CHAR = 3;

const topicOf = (appId: string, channel: string) => `${appId}\u0000${channel}`;

/** What channels/ uses of the hub: who is in a channel, and the signed-in user's own channel. */
export interface Membership {
  join(appId: string, channel: string, connection: Connection): void;
  leave(appId: string, channel: string, connection: Connection): void;
  /** Indexes the connection's user and watchlist, and joins `#server-to-user-{id}` (docs/PROTOCOL.md §2.11). */
  signedIn(connection: OpenConnection): void;
  /**
   * Starts holding the channel's live frames for the connection instead of sending them, before
   * it reads the channel's history (docs/PROTOCOL.md §13.3; held-frames.ts).
   */
  hold(appId: string, channel: string, connection: Connection): HeldFrames;
  /**
   * The replay is done: sends the held frames the filter keeps, in order, in the same synchronous
   * step passes later frames through the filter, and joins the channel once the filter is caught
   * up. False when the hold had ended already (the connection left, closed or overflowed).
   */
  goLive(held: HeldFrames, filter: LiveFilter): boolean;
  /** Ends a hold whose replay did not finish; nothing once it went live or ended. */
  release(held: HeldFrames): void;
}

export class Hub implements LocalDelivery, Membership {
  readonly connections = new Map<string, Connection>();
  private readonly users = new Map<string, Set<Connection>>();
  private readonly watchers = new Map<string, Set<Connection>>();
  /** Subscribers without native topics, per topic. */
  private readonly members = new Map<string, Set<Connection>>();
  /** Connections replaying history, per topic: what is delivered there is held for them instead. */
  private readonly holding = new Map<string, Map<Connection, HeldFrames>>();

  private transport!: Transport;
  /** Upper bound of the bytes any one socket gained from topic publishes since the last slow-consumer sweep. */
  private publishedSinceSweep = 0;

  constructor(
    private readonly metrics: Metrics,
    readonly slowConsumers: SlowConsumers,
  ) {}

  /** The transport is built after the hub (its socket handlers need the hub): attach it once. */
  attach(transport: Transport): void {
    this.transport = transport;
  }

  add(connection: Connection): void {
    this.connections.set(connection.socketId, connection);
  }

  /** Undoes add() and signedIn(); channels are left by whoever joined them (channels/). */
  remove(connection: Connection): void {
    this.connections.delete(connection.socketId);
    const user = connection.user;
    if (user === undefined || connection.app === undefined) return;
    const appId = connection.app.id;
    removeFrom(this.users, topicOf(appId, user.id), connection);
    for (const watched of user.watchlist) removeFrom(this.watchers, topicOf(appId, watched), connection);
    this.leave(appId, serverToUserChannel(user.id), connection);
  }

  join(appId: string, channel: string, connection: Connection): void {
    const topics = connection.socket.topics;
    if (topics !== undefined) topics.subscribe(topicOf(appId, channel));
    else addTo(this.members, topicOf(appId, channel), connection);
  }

  leave(appId: string, channel: string, connection: Connection): void {
    const topic = topicOf(appId, channel);
    if (this.holding.size !== 0) {
      const held = this.holding.get(topic)?.get(connection);
      if (held !== undefined) this.end(held);
    }
    const topics = connection.socket.topics;
    if (topics !== undefined) topics.unsubscribe(topic);
    else removeFrom(this.members, topic, connection);
  }

  hold(appId: string, channel: string, connection: Connection): HeldFrames {
    const held = new HeldFrames(appId, channel, topicOf(appId, channel), connection);
    let holders = this.holding.get(held.topic);
    if (holders === undefined) this.holding.set(held.topic, (holders = new Map()));
    holders.set(connection, held);
    return held;
  }

  goLive(held: HeldFrames, filter: LiveFilter): boolean {
    if (!held.active) return false;
    held.filter = filter;
    const { connection } = held;
    for (const frame of held.frames) if (filter.keep(frame)) connection.send(frame);
    held.frames.length = 0;
    held.length = 0;
    if (connection.closed) {
      this.end(held);
      return false;
    }
    if (filter.caughtUp()) this.joinFrom(held);
    return true;
  }

  release(held: HeldFrames): void {
    if (held.filter === undefined) this.end(held);
  }

  private joinFrom(held: HeldFrames): void {
    this.end(held);
    this.join(held.appId, held.channel, held.connection);
  }

  private end(held: HeldFrames): void {
    if (!held.active) return;
    held.active = false;
    const holders = this.holding.get(held.topic)!;
    holders.delete(held.connection);
    if (holders.size === 0) this.holding.delete(held.topic);
  }

  signedIn(connection: OpenConnection): void {
    const appId = connection.app.id;
    const user = connection.user!;
    addTo(this.users, topicOf(appId, user.id), connection);
    for (const watched of user.watchlist) addTo(this.watchers, topicOf(appId, watched), connection);
    this.join(appId, serverToUserChannel(user.id), connection);
  }

  /** Answers the subscribers the frame was sent to (telemetry's delivery span). */
  deliver(appId: string, channel: string, frame: string, exceptSocketId?: string): number {
    const topic = topicOf(appId, channel);
    // Before uWS could see a socket near its hard cap (then 1006), sweep: one O(sockets) pass per
    // sweepEveryBytes published, nothing per subscriber.
    const bytes = frame.length * MAX_UTF8_PER_CHAR + FRAME_HEADER_BYTES;
    if (this.publishedSinceSweep + bytes > this.slowConsumers.sweepEveryBytes) {
      this.publishedSinceSweep = 0;
      this.slowConsumers.sweep(this.connections.values());
    }
    this.publishedSinceSweep += bytes;
    const except = exceptSocketId === undefined ? undefined : this.connections.get(exceptSocketId);
    const sender = except !== undefined && !except.socket.isClosed && except.app?.id === appId ? except : undefined;
    const holders = this.holding.size === 0 ? undefined : this.holding.get(topic);
    // Native fan-out happens in C++; count it from the topic size instead of per subscriber. A
    // sender still replaying is not in the topic: publishing from its socket would reach no one.
    let recipients = this.transport.subscriberCount(topic);
    const senderTopics = sender === undefined || holders?.has(sender) === true ? undefined : sender.socket.topics;
    if (senderTopics !== undefined) {
      recipients -= 1;
      senderTopics.publishToOthers(topic, frame);
    } else {
      this.transport.publish(topic, frame);
    }
    const members = this.members.get(topic);
    if (members !== undefined) {
      for (const member of members) if (member !== sender && member.socket.send(frame)) recipients += 1;
    }
    if (holders !== undefined) this.holdBack(holders, frame, exceptSocketId);
    if (recipients > 0) {
      const m = this.metrics.forApp(appId);
      m.messagesOut.inc(recipients);
      m.bytesOut.inc(recipients * frame.length);
    }
    return recipients;
  }

  /**
   * Frames for connections joining with a replay: held, or filtered once the replay ended. The
   * socket_id rule holds here too; a hold past the slow-consumer limit closes the connection (4100).
   */
  private holdBack(holders: Map<Connection, HeldFrames>, frame: string, exceptSocketId: string | undefined): void {
    for (const held of holders.values()) {
      const { connection } = held;
      if (connection.socketId === exceptSocketId) continue;
      if (connection.closed) {
        this.end(held);
      } else if (held.filter !== undefined) {
        if (held.filter.keep(frame)) connection.send(frame);
        if (held.filter.caughtUp()) this.joinFrom(held);
      } else {
        held.frames.push(frame);
        held.length += frame.length;
        if (held.length > this.slowConsumers.maxBackpressureBytes) {
          this.end(held);
          this.slowConsumers.close(connection);
        }
      }
    }
  }

  terminateUser(appId: string, userId: string): void {
    for (const connection of [...(this.users.get(topicOf(appId, userId)) ?? [])]) {
      connection.fail(ErrorCode.Unauthorized, ErrorMessage.terminated);
    }
  }

  userStatusChanged(appId: string, userId: string, online: boolean): void {
    const watching = this.watchers.get(topicOf(appId, userId));
    if (watching === undefined) return;
    const frame = watchlistEvents([{ name: online ? 'online' : 'offline', user_ids: [userId] }]);
    for (const connection of watching) connection.send(frame);
  }
}

function addTo(index: Map<string, Set<Connection>>, k: string, connection: Connection): void {
  let set = index.get(k);
  if (set === undefined) index.set(k, (set = new Set()));
  set.add(connection);
}

function removeFrom(index: Map<string, Set<Connection>>, k: string, connection: Connection): void {
  const set = index.get(k);
  if (set === undefined) return;
  set.delete(connection);
  if (set.size === 0) index.delete(k);
}
