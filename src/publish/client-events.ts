// Client events (docs/PROTOCOL.md §2.8): members only, never echoed to the sender, rate limited.
// The client source's checks of the publish pipeline (pipeline.ts), in §2.8's order.
import { ErrorCode, ErrorMessage, type ClientFrame } from '../../protocol/index.js';
import { clockMs, type Connection } from '../hub/connection.js';
import type { App } from '../apps/registry.js';
import { userBucket } from '../auth/buckets.js';
import { authorizeAction } from '../auth/policy.js';
import type { Principal } from '../auth/types.js';
import type { TokenGuards } from '../engine/types.js';
import type { PublishPipeline } from './pipeline.js';

const MAX_EVENT_NAME = 200;

export async function relayClientEvent(pipeline: PublishPipeline, guards: TokenGuards, connection: Connection, frame: ClientFrame): Promise<void> {
  const app = connection.app!;
  const channel = frame.channel;
  if (!app.clientEvents) {
    connection.error(null, 'To send client events, you must enable this feature in the Settings page of your dashboard.', channel);
    return;
  }
  if (channel === undefined) {
    connection.error(null, 'Client event rejected - channel is required', channel);
    return;
  }
  const subscription = connection.subscriptions.get(channel);
  if (subscription === undefined) {
    connection.error(null, `Client event rejected - not subscribed to channel ${channel}`, channel);
    return;
  }
  if (subscription.kind === 'encrypted') {
    connection.error(null, 'Client event rejected - not supported on encrypted channels', channel);
    return;
  }
  if (subscription.kind !== 'private' && subscription.kind !== 'presence') {
    connection.error(null, 'Client event rejected - only supported on private and presence channels', channel);
    return;
  }
  if (!takeRateToken(connection, app.clientEventRateLimit)) {
    connection.error(ErrorCode.ClientEventRateLimit, ErrorMessage.clientEventRateLimit, channel);
    return;
  }
  // Only the principal that authorized this subscription: in `both` mode a subscription the app
  // signed (HMAC) stays the app's, whoever the socket signed in as (docs/PROTOCOL.md §14.4).
  const principal = subscription.principal;
  if (principal !== undefined) {
    const refusal = await principalRefusal(guards, app, principal, channel);
    if (refusal !== undefined) {
      connection.error(refusal.code, `Client event rejected - ${refusal.message}`, channel);
      return;
    }
  }
  if (frame.event.length > MAX_EVENT_NAME) {
    connection.error(null, `Client event rejected - event name longer than ${MAX_EVENT_NAME} characters`, channel);
    return;
  }
  const data = typeof frame.data === 'string' ? frame.data : JSON.stringify(frame.data ?? {});
  const dataBytes = Buffer.byteLength(data);
  if (dataBytes > app.maxEventPayloadKb * 1024) {
    connection.error(null, `Client event rejected - data larger than ${app.maxEventPayloadKb} KB`, channel);
    return;
  }
  await pipeline.relayClientEvent(app, channel, frame.event, data, dataBytes, connection.socketId, subscription.presence?.userId);
}

/**
 * A JWT principal needs `client-event` permission on the channel and stays within
 * `jwt.rateLimits.perUser` per second cluster-wide, over all its connections (docs/PROTOCOL.md §14.4, §14.6).
 */
async function principalRefusal(guards: TokenGuards, app: App, principal: Principal, channel: string): Promise<{ code: number | null; message: string } | undefined> {
  const decision = await authorizeAction(app, principal, channel, 'client-event');
  if (!decision.ok) return { code: null, message: decision.message };
  const perUser = app.jwt.rateLimits.perUser;
  if (perUser === null) return undefined;
  const hits = await guards.countHit(app.id, userBucket(principal), Date.now());
  return hits > perUser ? { code: ErrorCode.ClientEventRateLimit, message: `over ${perUser} per second for user ${principal.userId}` } : undefined;
}

/** Fixed one-second window per connection: no timers, two numbers of state. */
function takeRateToken(connection: Connection, limit: number): boolean {
  const now = clockMs();
  if (now - connection.clientEventWindowStart >= 1000) {
    connection.clientEventWindowStart = now;
    connection.clientEventCount = 0;
  }
  connection.clientEventCount += 1;
  return connection.clientEventCount <= limit;
}
