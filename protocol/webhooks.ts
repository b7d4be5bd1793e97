// Webhook bodies, events and signatures (docs/PROTOCOL.md §6). Pure: no clock, no I/O.
import { hmacHex } from './signatures.js';

export const WEBHOOK_EVENT_NAMES = [
  'channel_occupied',
  'channel_vacated',
  'member_added',
  'member_removed',
  'client_event',
  'cache_miss',
  'subscription_count',
] as const;

export type WebhookEventName = (typeof WEBHOOK_EVENT_NAMES)[number];

/** One entry of a body's `events` array, with exactly the §6.2 fields of its kind. */
export type WebhookEvent =
  | { name: 'channel_occupied' | 'channel_vacated' | 'cache_miss'; channel: string }
  | { name: 'member_added' | 'member_removed'; channel: string; user_id: string }
  | { name: 'client_event'; channel: string; event: string; data: string; socket_id: string; user_id?: string }
  | { name: 'subscription_count'; channel: string; subscription_count: number };

export function channelWebhook(name: 'channel_occupied' | 'channel_vacated' | 'cache_miss', channel: string): WebhookEvent {
  return { name, channel };
}

export function memberWebhook(name: 'member_added' | 'member_removed', channel: string, userId: string): WebhookEvent {
  return { name, channel, user_id: userId };
}

/** `data` stays the string the client sent; `user_id` only for presence members (undefined is dropped). */
export function clientEventWebhook(channel: string, event: string, data: string, socketId: string, userId?: string): WebhookEvent {
  return userId === undefined
    ? { name: 'client_event', channel, event, data, socket_id: socketId }
    : { name: 'client_event', channel, event, data, socket_id: socketId, user_id: userId };
}

export function subscriptionCountWebhook(channel: string, count: number): WebhookEvent {
  return { name: 'subscription_count', channel, subscription_count: Math.trunc(count) };
}

/** The exact body bytes; the signature must be computed over this string, not a re-serialisation. */
export function webhookBody(timeMs: number, events: readonly WebhookEvent[]): string {
  return JSON.stringify({ time_ms: timeMs, events });
}

export function webhookSignature(secret: string, body: string): string {
  return hmacHex(secret, body);
}

/** Header names the receiver SDKs read; a target's custom headers may not replace them. */
export const WEBHOOK_RESERVED_HEADERS = ['content-type', 'x-pusher-key', 'x-pusher-signature'] as const;

/** `Content-Type` is exactly `application/json`: the Node SDK rejects anything with a charset suffix. */
export function webhookHeaders(appKey: string, secret: string, body: string): Record<string, string> {
  return {
    'Content-Type': 'application/json',
    'X-Pusher-Key': appKey,
    'X-Pusher-Signature': webhookSignature(secret, body),
  };
}
