// Refusals on a socket (connect, subscribe, signin) as auth_failure activity: the reason the
// client got, the peer's address and socket id, never the token or signature. Refusals are not
// the hot path; the guard still keeps the object unbuilt while nobody watches.
import type { App } from '../apps/registry.js';
import type { Connection } from '../hub/connection.js';
import type { ActivityFeed } from './feed.js';
import type { AuthFailureActivity } from './types.js';

export function socketRefused(
  feed: ActivityFeed,
  app: App,
  connection: Connection,
  surface: AuthFailureActivity['surface'],
  reason: string,
  channel?: string,
): void {
  if (!feed.wants.auth_failure) return;
  feed.emit({ kind: 'auth_failure', appId: app.id, surface, reason, channel, ip: connection.socket.remoteAddress, actor: connection.socketId });
}
