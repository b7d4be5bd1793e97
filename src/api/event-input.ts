// Validation of one trigger (POST /events body, or one batch item) — docs/PROTOCOL.md §5.3.
import { channelNameError, channelType, parseClientJson, SERVER_TO_USER_PREFIX, SOCKET_ID } from '../../protocol/index.js';
import type { App } from '../apps/registry.js';
import type { ServerEvent } from '../publish/pipeline.js';
import { parseNotification } from './push-notification.js';
import type { Notification } from '../push/types.js';
import { HttpError } from './reply.js';

export const MAX_CHANNELS_PER_TRIGGER = 100;
const MAX_EVENT_NAME = 200;
/** The HTTP side accepts names the Node SDK allows (200), whatever the socket-side limit. */
const MAX_HTTP_CHANNEL_NAME = 200;
const MAX_PARTITION_KEY = 200;

export interface TriggerInput extends ServerEvent {
  info: string[];
  /** For the offline users the channels name (docs/PROTOCOL.md §16.5). */
  push?: Notification;
}

export function parseJsonObject(body: Buffer): Record<string, unknown> {
  const parsed = parseClientJson(body.toString('utf8'), 'Request body');
  if (!parsed.ok) throw new HttpError(400, parsed.message);
  const value = parsed.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'Request body must be a JSON object');
  return value as Record<string, unknown>;
}

export function parseTrigger(app: App, input: unknown): TriggerInput {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new HttpError(400, 'Each event must be a JSON object');
  const body = input as Record<string, unknown>;
  const name = eventName(body.name, 'name');
  const data = eventData(body.data);
  const channels = channelList(body);
  for (const channel of channels) checkPublishChannel(channel);
  if (channels.length > 1 && channels.some((c) => channelType(c).kind === 'encrypted')) {
    throw new HttpError(400, 'An encrypted channel cannot be triggered together with other channels');
  }
  const socketId = body.socket_id;
  if (socketId !== undefined && socketId !== null && (typeof socketId !== 'string' || !SOCKET_ID.test(socketId))) {
    throw new HttpError(400, 'Invalid socket_id: expected two integers joined by a dot');
  }
  const dataBytes = checkDataSize(app, data);
  const info = typeof body.info === 'string' && body.info !== '' ? body.info.split(',').map((s) => s.trim()) : [];
  const partitionKey = partitionKeyOf(body.partition_key, 'partition_key');
  const push = publishNotification(app, body.push);
  return { name, data, dataBytes, channels, socketId: typeof socketId === 'string' ? socketId : undefined, partitionKey, info, push };
}

/** A publish's `push` notification (§16.5); null is absent. 400 on apps without push settings: it would go nowhere. */
export function publishNotification(app: App, value: unknown): Notification | undefined {
  if (value === undefined || value === null) return undefined;
  if (app.push === undefined) throw new HttpError(400, 'Invalid "push": this app has no push settings (docs/PROTOCOL.md §16.1)');
  return parseNotification(value, 'push');
}

/** An event name from the body field `field` (`name` in §5.3, `event` in §14.5). */
export function eventName(name: unknown, field: string): string {
  if (typeof name !== 'string' || name === '') throw new HttpError(400, `Missing or invalid "${field}": a non-empty string is required`);
  if (name.length > MAX_EVENT_NAME) throw new HttpError(400, `Event name too long: at most ${MAX_EVENT_NAME} characters`);
  if (name.startsWith('pusher:') || name.startsWith('pusher_internal:')) throw new HttpError(400, `Event name ${name} is reserved`);
  return name;
}

/** Data is forwarded verbatim; non-strings are serialised once, leniently. */
export function eventData(data: unknown): string {
  if (data === undefined || data === null) throw new HttpError(400, 'Missing "data"');
  return typeof data === 'string' ? data : JSON.stringify(data);
}

/** UTF-8 bytes of the data; 413 past the app's maxEventPayloadKb. */
export function checkDataSize(app: App, data: string): number {
  const dataBytes = Buffer.byteLength(data);
  if (dataBytes > app.maxEventPayloadKb * 1024) throw new HttpError(413, `Event data too large: at most ${app.maxEventPayloadKb} KB`);
  return dataBytes;
}

/** 400 for a channel name no publish may use. */
export function checkPublishChannel(channel: string): void {
  const error = channel.startsWith(SERVER_TO_USER_PREFIX) ? null : channelNameError(channel, MAX_HTTP_CHANNEL_NAME);
  if (error !== null) throw new HttpError(400, error);
  if (channelType(channel).kind === 'reserved') throw new HttpError(400, `Channel names starting with # are reserved: ${channel}`);
}

/** A partition key (docs/PROTOCOL.md §13.4) from the body field `field`; null is absent. */
export function partitionKeyOf(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value === '' || value.length > MAX_PARTITION_KEY) {
    throw new HttpError(400, `Invalid "${field}": expected a string of 1 to ${MAX_PARTITION_KEY} characters`);
  }
  return value;
}

function channelList(body: Record<string, unknown>): string[] {
  const { channels, channel } = body;
  let list: unknown[];
  if (Array.isArray(channels)) list = channels;
  else if (typeof channel === 'string') list = [channel];
  else throw new HttpError(400, 'Missing "channels" (array) or "channel" (string)');
  if (list.length === 0) throw new HttpError(400, 'The channel list is empty');
  if (list.length > MAX_CHANNELS_PER_TRIGGER) throw new HttpError(400, `Too many channels: at most ${MAX_CHANNELS_PER_TRIGGER} per event`);
  const bad = list.findIndex((c) => typeof c !== 'string');
  if (bad !== -1) throw new HttpError(400, `Invalid "channels": element ${bad} must be a string, got ${list[bad] === null ? 'null' : typeof list[bad]}`);
  // Nearly every trigger names one channel: no Set to build for it.
  return list.length === 1 ? [list[0] as string] : [...new Set(list as string[])];
}
