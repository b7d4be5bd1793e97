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
    return issue.received === 'undefined' ? `${field} is required (${issue.expected})` : `${field} must be ${article(issue.expected)}, got ${issue.received}`;
  }
  if (issue.code === 'too_small' && issue.type === 'string' && issue.minimum === 1) return `${field} must be a non-empty string`;
  if (issue.code === 'too_small' || issue.code === 'too_big') return `${field} must ${sizeBound(issue)}`;
  if (issue.code === 'invalid_union') {
    // The one branch whose type matched says what is wrong inside it (`data.resume.offset …`).
    const matched = issue.unionErrors.filter((e) => e.issues[0].code !== 'invalid_type' || e.issues[0].path.length > issue.path.length);
    if (matched.length === 1) return describeIssue(matched[0], root);
    const first = issue.unionErrors.map((e) => e.issues[0]);
    if (first.every((i) => i.code === 'invalid_type')) {
      return `${field} must be ${first.map((i) => article((i as z.ZodInvalidTypeIssue).expected)).join(' or ')}, got ${(first[0] as z.ZodInvalidTypeIssue).received}`;
    }
  }
  if (issue.code === 'not_finite') return `${field} must be a finite number`;
  return `${field}: ${issue.message}`;
}

/** `an object`, `a string`. */
function article(type: string): string {
  return (/^[aeiou]/.test(type) ? 'an ' : 'a ') + type;
}

function sizeBound(issue: z.ZodTooSmallIssue | z.ZodTooBigIssue): string {
  const limit = issue.code === 'too_small' ? 'at least' : 'at most';
  const bound = Number(issue.code === 'too_small' ? issue.minimum : issue.maximum);
  if (issue.type === 'string') return `be ${limit} ${bound} characters long`;
  if (issue.type === 'array') return `have ${limit} ${bound} entries`;
  return `be ${limit} ${bound}`;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** An optional field: hosted Pusher and pusher-js treat `null` as absent (auth endpoints answer `"channel_data": null`). */
const optional = <T extends z.ZodTypeAny>(schema: T) => schema.nullish().transform((v) => v ?? undefined);

/** History stream partitions a channel may have (docs/PROTOCOL.md §13.1): at most one resume point each. */
const MAX_PARTITIONS = 64;
const resumeOffset = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const resumeEpoch = z.string().min(1).max(64);

/** The last position a client saw on a history channel (docs/PROTOCOL.md §13.3): one partition, or one per partition. */
export const resumeData = z.union([
  z.object({ epoch: resumeEpoch, offset: resumeOffset }),
  z.array(z.object({ partition: z.number().int().min(0).max(MAX_PARTITIONS - 1), epoch: resumeEpoch, offset: resumeOffset })).max(MAX_PARTITIONS),
]);
export type ResumeData = z.infer<typeof resumeData>;

export const subscribeData = z.object({
  channel: z.string(),
  auth: optional(z.string()),
  channel_data: optional(z.string()),
  resume: optional(resumeData),
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

/**
 * The one encoder for event frames: called once per publish, never per subscriber. `extras` are
 * top-level fields already encoded by encodeExtras (a JWT publish's correlation id and meta).
 */
export function encodeEvent(event: string, data: string | undefined, channel?: string, userId?: string, extras?: string): string {
  return encodeOpenEvent(event, data, channel, userId, extras) + '}';
}

/**
 * An event frame without its closing `}`, for history channels: the engine appends the position
 * fields once it knows the position (docs/PROTOCOL.md §13.2).
 */
export function encodeOpenEvent(event: string, data: string | undefined, channel?: string, userId?: string, extras?: string): string {
  let frame = '{"event":' + JSON.stringify(event);
  if (data !== undefined) frame += ',"data":' + JSON.stringify(data);
  if (channel !== undefined) frame += ',"channel":' + JSON.stringify(channel);
  if (userId !== undefined) frame += ',"user_id":' + JSON.stringify(userId);
  if (extras !== undefined) frame += extras;
  return frame;
}

/**
 * `,"correlation_id":…,"meta":{…}` of a JWT publish (docs/PROTOCOL.md §14.5), encoded once per
 * publish and placed after `channel`; undefined when it has neither, so the frame stays the plain one.
 */
export function encodeExtras(correlationId: string | undefined, meta: Record<string, unknown> | undefined): string | undefined {
  if (correlationId === undefined && meta === undefined) return undefined;
  let fields = '';
  if (correlationId !== undefined) fields += ',"correlation_id":' + JSON.stringify(correlationId);
  if (meta !== undefined) fields += ',"meta":' + JSON.stringify(meta);
  return fields;
}

/** A position in a history channel's stream as frames carry it (docs/PROTOCOL.md §13.2). */
export interface FramePosition {
  offset: number;
  epoch: string;
  /** Only on partitioned channels. */
  partition?: number;
}

const OFFSET_FIELD = ',"offset":';
const EPOCH_FIELD = ',"epoch":"';
const PARTITION_FIELD = ',"partition":';

/** The fields that end a history channel's frame, and its closing `}` (docs/PROTOCOL.md §13.2). */
export function encodePositionTail(offset: number, epoch: string, partition: number | undefined): string {
  return OFFSET_FIELD + offset + EPOCH_FIELD + epoch + '"' + (partition === undefined ? '' : PARTITION_FIELD + partition) + '}';
}

/**
 * The position at the tail of a history channel's frame (docs/PROTOCOL.md §13.2), undefined for
 * unsequenced frames (members, counts). Only the tail can match: inside `data` and names every
 * quote is escaped.
 */
export function positionOfFrame(frame: string): FramePosition | undefined {
  const at = frame.lastIndexOf(OFFSET_FIELD);
  if (at === -1) return undefined;
  const epochAt = frame.indexOf(EPOCH_FIELD, at);
  const epochEnd = frame.indexOf('"', epochAt + EPOCH_FIELD.length);
  const position: FramePosition = {
    offset: Number(frame.slice(at + OFFSET_FIELD.length, epochAt)),
    epoch: frame.slice(epochAt + EPOCH_FIELD.length, epochEnd),
  };
  if (frame.startsWith(PARTITION_FIELD, epochEnd + 1)) position.partition = Number(frame.slice(epochEnd + 1 + PARTITION_FIELD.length, -1));
  return position;
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

/**
 * On a history channel subscription_succeeded also says where the stream stands (docs/PROTOCOL.md
 * §13.3): one position unpartitioned, one per partition (`partition` set) otherwise.
 */
export function subscriptionSucceeded(channel: string, presence?: PresenceRoster, positions?: readonly FramePosition[]): string {
  const frame = encodeOpenEvent('pusher_internal:subscription_succeeded', presence === undefined ? '{}' : JSON.stringify({ presence }), channel);
  if (positions === undefined) return frame + '}';
  if (positions.length === 1 && positions[0].partition === undefined) {
    return frame + ',"offset":' + positions[0].offset + ',"epoch":' + JSON.stringify(positions[0].epoch) + '}';
  }
  const entries = positions.map((p) => ({ partition: p.partition, offset: p.offset, epoch: p.epoch }));
  return frame + ',"positions":' + JSON.stringify(entries) + '}';
}

export type ResumeFailure = 'epoch_changed' | 'trimmed' | 'ahead';

/** A partition the server cannot replay from the client's position, and where its stream stands now (docs/PROTOCOL.md §13.3). */
export function resumeFailed(channel: string, reason: ResumeFailure, current: FramePosition): string {
  const data = { reason, offset: current.offset, epoch: current.epoch, partition: current.partition };
  return encodeEvent('broadcasty:resume_failed', JSON.stringify(data), channel);
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
