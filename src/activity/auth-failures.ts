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
export function withoutCredentials(reason: string): string {
  return reason.replace(/(, but (?:got|you sent)) .*$/s, '$1 (withheld)');
}

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
  feed.emit({ kind: 'auth_failure', appId: app.id, surface, reason: withoutCredentials(reason), channel, ip: connection.socket.remoteAddress, actor: connection.socketId });
}
