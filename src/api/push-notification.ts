// The `notification` object of a send (docs/PROTOCOL.md §16.3), checked and mapped to the
// provider-neutral Notification. Also the `push` field of publishes (§16.5).
import { HttpError } from './reply.js';
import type { Notification } from '../push/types.js';

/** The whole notification, as JSON, at most this many bytes (§16.3). */
const MAX_NOTIFICATION_BYTES = 4096;
const MAX_TITLE = 256;
const MAX_BODY = 4096;
/** §16.3's bound on ttl_seconds: 28 days, FCM's longest. */
export const MAX_TTL_SECONDS = 2_419_200;
const URGENCIES = ['very-low', 'low', 'normal', 'high'] as const;
const COLLAPSE_KEY = /^[A-Za-z0-9_-]{1,64}$/;
const PROVIDER_FIELDS = ['webpush', 'fcm', 'apns', 'onesignal'] as const;
const KNOWN_FIELDS = new Set<string>(['title', 'body', 'url', 'icon', 'data', 'ttl_seconds', 'urgency', 'collapse_key', ...PROVIDER_FIELDS]);

/** A JSON object as parsed. */
export type Json = Record<string, unknown>;

export const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The 400 for a field (its full path, e.g. `notification.url`) that is not what it must be. */
export const invalid = (field: string, expected: string) => new HttpError(400, `Invalid "${field}": ${expected}`);

// The validators below read `parent[name]` and name the field `<where>.<name>` when it is wrong.

export function optionalObject(parent: Json | undefined, name: string, where: string): Json | undefined {
  const value = parent?.[name];
  if (value === undefined) return undefined;
  if (!isObject(value)) throw invalid(`${where}.${name}`, 'a JSON object');
  return value;
}

export function optionalString(parent: Json | undefined, name: string, where: string, max?: number): string | undefined {
  const value = parent?.[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || (max !== undefined && value.length > max)) {
    throw invalid(`${where}.${name}`, max === undefined ? 'a string' : `a string of at most ${max} characters`);
  }
  return value;
}

export function optionalUrl(parent: Json | undefined, name: string, where: string): string | undefined {
  const value = optionalString(parent, name, where);
  if (value !== undefined && !(/^https?:\/\//.test(value) && URL.canParse(value))) throw invalid(`${where}.${name}`, 'an http:// or https:// URL');
  return value;
}

export function optionalTtl(parent: Json | undefined, name: string, where: string): number | undefined {
  const value = parent?.[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_TTL_SECONDS) {
    throw invalid(`${where}.${name}`, `an integer from 0 to ${MAX_TTL_SECONDS}`);
  }
  return value;
}

/**
 * Checks `raw` (the field named `field` of the body, e.g. `notification` or `push`); throws
 * HttpError 400 naming the offending field, 413 past MAX_NOTIFICATION_BYTES.
 */
export function parseNotification(raw: unknown, field = 'notification'): Notification {
  if (!isObject(raw)) throw invalid(field, 'a JSON object');
  for (const name of Object.keys(raw)) if (!KNOWN_FIELDS.has(name)) throw new HttpError(400, `Unknown field "${field}.${name}"`);
  if (Buffer.byteLength(JSON.stringify(raw)) > MAX_NOTIFICATION_BYTES) {
    throw new HttpError(413, `"${field}" is too large: at most ${MAX_NOTIFICATION_BYTES} bytes of JSON`);
  }
  const notification: Notification = {};
  const title = optionalString(raw, 'title', field, MAX_TITLE);
  if (title !== undefined) notification.title = title;
  const body = optionalString(raw, 'body', field, MAX_BODY);
  if (body !== undefined) notification.body = body;
  const url = optionalUrl(raw, 'url', field);
  if (url !== undefined) notification.url = url;
  const icon = optionalUrl(raw, 'icon', field);
  if (icon !== undefined) notification.icon = icon;
  const data = optionalObject(raw, 'data', field);
  if (data !== undefined) notification.data = data;
  const ttl = optionalTtl(raw, 'ttl_seconds', field);
  if (ttl !== undefined) notification.ttlSeconds = ttl;
  if (raw.urgency !== undefined) {
    if (!(URGENCIES as readonly unknown[]).includes(raw.urgency)) throw invalid(`${field}.urgency`, URGENCIES.join(', '));
    notification.urgency = raw.urgency as Notification['urgency'];
  }
  if (raw.collapse_key !== undefined) {
    if (typeof raw.collapse_key !== 'string' || !COLLAPSE_KEY.test(raw.collapse_key)) throw invalid(`${field}.collapse_key`, 'at most 64 characters of [A-Za-z0-9_-]');
    notification.collapseKey = raw.collapse_key;
  }
  for (const provider of PROVIDER_FIELDS) {
    const value = optionalObject(raw, provider, field);
    if (value !== undefined) notification[provider] = value;
  }
  return notification;
}
