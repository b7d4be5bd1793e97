// Refusals as auth_failure activity: the reason the client got, the peer's address and socket id,
// never the token or signature. Refusals are not the hot path; the guard still keeps the object
// unbuilt while nobody watches.
import type { App } from '../apps/registry.js';
import type { Connection } from '../hub/connection.js';
import type { ActivityFeed } from './feed.js';
import type { AuthFailureActivity } from './types.js';

/**
 * Pusher's signature refusals echo what the client sent ("…, but got <signature>", "…, but you
 * sent "<signature>""): the client may see its own signature, a log that outlives it may not.
 */
function withoutCredentials(reason: string): string {
  return reason.replace(/(, but (?:got|you sent)) .*$/s, '$1 (withheld)');
}

/** Longest client-influenced text kept in an auth_failure: refusals are unauthenticated, so their size is the attacker's. */
const MAX_ECHOED_CHARS = 256;

/** Cuts client-influenced text (a reason quoting what was sent, a channel name) to MAX_ECHOED_CHARS. */
export function capped(text: string): string;
export function capped(text: string | undefined): string | undefined;
export function capped(text: string | undefined): string | undefined {
  return text === undefined || text.length <= MAX_ECHOED_CHARS ? text : `${text.slice(0, MAX_ECHOED_CHARS - 1)}…`;
}

/** The reason an auth_failure keeps: credentials withheld, then capped. */
export const refusalReason = (reason: string): string => capped(withoutCredentials(reason));

/** A refusal on a socket or HTTP session: connect, subscribe, signin. */
export function socketRefused(
  feed: ActivityFeed,
  app: App,
  connection: Connection,
  surface: AuthFailureActivity['surface'],
  reason: string,
  channel?: string,
): void {
  if (!feed.wants.auth_failure) return;
  feed.emit({ kind: 'auth_failure', appId: app.id, surface, reason: refusalReason(reason), channel: capped(channel), ip: connection.socket.remoteAddress, actor: connection.socketId });
}
