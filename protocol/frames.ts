// Wire frames (PROTOCOL.md §0, §2). Server frames carry `data` as a JSON string (double
// encoding), except pusher:error whose data is an object. Client frames are parsed leniently:
// `data` may be an object, a JSON string holding an object, or absent.
import { z } from 'zod';

export interface ClientFrame {
  event: string;
  channel?: string;
  data: unknown;
}

const INVALID_ENVELOPE = 'Invalid message format: expected an object with an event string';

export type FrameParse = { ok: true; frame: ClientFrame } | { ok: false; message: string };

export function parseClientFrame(text: string): FrameParse {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, message: 'Received invalid JSON' };
  }
  // Checked by hand, not with zod: this runs for every inbound frame.
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, message: INVALID_ENVELOPE };
  const { event, channel, data } = value as Record<string, unknown>;
  if (typeof event !== 'string' || event === '' || (channel !== undefined && typeof channel !== 'string')) {
    return { ok: false, message: INVALID_ENVELOPE };
  }
  return { ok: true, frame: { event, channel, data } };
}

/** `data` as an object: accepts an object or a JSON string containing one. */
export function dataObject(data: unknown): Record<string, unknown> | undefined {
  let value = data;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

export const subscribeData = z.object({
  channel: z.string(),
  auth: z.string().optional(),
  channel_data: z.string().optional(),
});
export type SubscribeData = z.infer<typeof subscribeData>;

export const unsubscribeData = z.object({ channel: z.string() });

export const signinData = z.object({ auth: z.string(), user_data: z.string() });

/** Parsed `channel_data` of a presence subscription (user_id may be a number; kept as sent). */
export const presenceChannelData = z.object({
  user_id: z.union([z.string().min(1), z.number()]),
  user_info: z.unknown().optional(),
});

export const userData = z.object({
  id: z.string().min(1),
  user_info: z.unknown().optional(),
  watchlist: z.array(z.string()).optional(),
});
export type UserData = z.infer<typeof userData>;

/** The one encoder for event frames: called once per publish, never per subscriber. */
export function encodeEvent(event: string, data: string | undefined, channel?: string, userId?: string): string {
  let frame = '{"event":' + JSON.stringify(event);
  if (data !== undefined) frame += ',"data":' + JSON.stringify(data);
  if (channel !== undefined) frame += ',"channel":' + JSON.stringify(channel);
  if (userId !== undefined) frame += ',"user_id":' + JSON.stringify(userId);
  return frame + '}';
}

export function encodeError(code: number | null, message: string, channel?: string): string {
  const frame: Record<string, unknown> = { event: 'pusher:error', data: { code, message } };
  if (channel !== undefined) frame.channel = channel;
  return JSON.stringify(frame);
}

export const PONG = encodeEvent('pusher:pong', '{}');
export const PING = encodeEvent('pusher:ping', '{}');

export function connectionEstablished(socketId: string, activityTimeout: number): string {
  return encodeEvent('pusher:connection_established', JSON.stringify({ socket_id: socketId, activity_timeout: activityTimeout }));
}

export function subscriptionSucceeded(channel: string, presence?: PresenceRoster): string {
  return encodeEvent(
    'pusher_internal:subscription_succeeded',
    presence === undefined ? '{}' : JSON.stringify({ presence }),
    channel,
  );
}

export interface PresenceRoster {
  count: number;
  ids: string[];
  hash: Record<string, unknown>;
}

export function subscriptionError(channel: string, type: string, error: string, status: number): string {
  return encodeEvent('pusher:subscription_error', JSON.stringify({ type, error, status }), channel);
}

export function memberAdded(channel: string, userId: string | number, userInfo: unknown): string {
  return encodeEvent('pusher_internal:member_added', JSON.stringify({ user_id: userId, user_info: userInfo }), channel);
}

export function memberRemoved(channel: string, userId: string | number): string {
  return encodeEvent('pusher_internal:member_removed', JSON.stringify({ user_id: userId }), channel);
}

export function subscriptionCount(channel: string, count: number): string {
  return encodeEvent('pusher_internal:subscription_count', JSON.stringify({ subscription_count: count }), channel);
}

export function cacheMiss(channel: string): string {
  return encodeEvent('pusher:cache_miss', undefined, channel);
}

export function signinSuccess(userDataString: string): string {
  return encodeEvent('pusher:signin_success', JSON.stringify({ user_data: userDataString }));
}

export interface WatchlistEvent {
  name: 'online' | 'offline';
  user_ids: string[];
}

export function watchlistEvents(events: WatchlistEvent[]): string {
  return encodeEvent('pusher_internal:watchlist_events', JSON.stringify({ events }));
}
