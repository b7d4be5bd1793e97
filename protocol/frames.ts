// Wire frames (docs/PROTOCOL.md §0, §2). Server frames carry `data` as a JSON string (double
// encoding), except pusher:error whose data is an object. Client frames are parsed leniently:
// `data` may be an object, a JSON string holding an object, or absent.
import { z } from 'zod';
import { jsonTooDeep, MAX_JSON_DEPTH, parseClientJson } from './json.js';

export interface ClientFrame {
  event: string;
  channel?: string;
  data: unknown;
}

const INVALID_ENVELOPE = 'Invalid message format: expected an object with an event string';

export type FrameParse = { ok: true; frame: ClientFrame } | { ok: false; message: string };

export function parseClientFrame(text: string): FrameParse {
  if (jsonTooDeep(text)) return { ok: false, message: `Invalid message: JSON nests deeper than ${MAX_JSON_DEPTH} levels` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, message: 'Received invalid JSON' };
  }
  // Checked by hand, not with zod: this runs for every inbound frame.
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, message: INVALID_ENVELOPE };
  const { event, channel, data } = value as Record<string, unknown>;
  if (typeof event !== 'string' || event === '') return { ok: false, message: INVALID_ENVELOPE };
  // null stands for absent, as in every optional field hosted Pusher accepts.
  if (channel !== undefined && channel !== null && typeof channel !== 'string') {
    return { ok: false, message: `Invalid message format: channel must be a string, got ${typeName(channel)}` };
  }
  return { ok: true, frame: { event, channel: channel ?? undefined, data } };
}

export type DataParse<T> = { ok: true; value: T } | { ok: false; message: string };

/**
 * Validates a client frame's `data` (an object, or a JSON string holding one) against a schema.
 * The message names the field that is wrong, e.g. `Invalid subscribe message: data.auth must be
 * a string, got number`.
 */
export function parseFrameData<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, data: unknown, what: string): DataParse<T> {
  let value = data;
  if (typeof value === 'string') {
    const parsed = parseClientJson(value, 'data');
    if (!parsed.ok) return { ok: false, message: `Invalid ${what} message: ${parsed.message}` };
    value = parsed.value;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, message: `Invalid ${what} message: data must be an object, got ${typeName(value)}` };
  }
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, message: `Invalid ${what} message: ${describeIssue(result.error, 'data')}` };
}

/** The first problem of a failed validation, naming the field: `data.channel must be a string, got null`. */
export function describeIssue(error: z.ZodError, root: string): string {
  const issue = error.issues[0];
  const field = [root, ...issue.path].join('.');
  if (issue.code === 'invalid_type') {
    return issue.received === 'undefined' ? `${field} is required (${issue.expected})` : `${field} must be a ${issue.expected}, got ${issue.received}`;
  }
  if (issue.code === 'too_small' && issue.type === 'string') return `${field} must be a non-empty string`;
  if (issue.code === 'invalid_union') {
    const first = issue.unionErrors.map((e) => e.issues[0]);
    if (first.every((i) => i.code === 'invalid_type')) {
      return `${field} must be a ${first.map((i) => (i as z.ZodInvalidTypeIssue).expected).join(' or a ')}, got ${(first[0] as z.ZodInvalidTypeIssue).received}`;
    }
  }
  if (issue.code === 'not_finite') return `${field} must be a finite number`;
  return `${field}: ${issue.message}`;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** An optional field: hosted Pusher and pusher-js treat `null` as absent (auth endpoints answer `"channel_data": null`). */
const optional = <T extends z.ZodTypeAny>(schema: T) => schema.nullish().transform((v) => v ?? undefined);

export const subscribeData = z.object({
  channel: z.string(),
  auth: optional(z.string()),
  channel_data: optional(z.string()),
});
export type SubscribeData = z.infer<typeof subscribeData>;

export const unsubscribeData = z.object({ channel: z.string() });

export const signinData = z.object({ auth: z.string(), user_data: z.string() });

/** A presence member id as the SDKs send it: a non-empty string or a finite number (1e400 is Infinity). */
export const presenceUserId = z.union([z.string().min(1), z.number().finite()]);

/** Parsed `channel_data` of a presence subscription (user_id may be a number; kept as sent). */
export const presenceChannelData = z.object({
  user_id: presenceUserId,
  user_info: z.unknown().optional(),
});

export const userData = z.object({
  id: z.string().min(1),
  user_info: z.unknown().optional(),
  watchlist: optional(z.array(z.string())),
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
