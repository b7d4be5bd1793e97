// The `notification` object of a send (docs/PROTOCOL.md §16.3), checked and mapped to the
// provider-neutral Notification. Also the `push` field of publishes (§16.5).
import { HttpError } from '../api/reply.js';
import type { Notification } from './types.js';

/** The whole notification, as JSON, at most this many bytes (§16.3). */
export const MAX_NOTIFICATION_BYTES = 4096;
const MAX_TITLE = 256;
const MAX_BODY = 4096;
const MAX_TTL_SECONDS = 2_419_200;
const URGENCIES = ['very-low', 'low', 'normal', 'high'] as const;
const COLLAPSE_KEY = /^[A-Za-z0-9_-]{1,64}$/;
const PROVIDER_FIELDS = ['webpush', 'fcm', 'apns', 'onesignal'] as const;
const KNOWN_FIELDS = new Set<string>(['title', 'body', 'url', 'icon', 'data', 'ttl_seconds', 'urgency', 'collapse_key', ...PROVIDER_FIELDS]);

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

const bad = (field: string, expected: string) => new HttpError(400, `Invalid "${field}": ${expected}`);

function text(raw: Record<string, unknown>, name: string, field: string, max: number): string | undefined {
  const value = raw[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length > max) throw bad(field, `a string of at most ${max} characters`);
  return value;
}

function httpUrl(raw: Record<string, unknown>, name: string, field: string): string | undefined {
  const value = raw[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^https?:\/\//.test(value) || !URL.canParse(value)) throw bad(field, 'an http:// or https:// URL');
  return value;
}

/**
 * Checks `raw` (the field named `field` of the body, e.g. `notification` or `push`); throws
 * HttpError 400 naming the offending field, 413 past MAX_NOTIFICATION_BYTES.
 */
export function parseNotification(raw: unknown, field = 'notification'): Notification {
  if (!isObject(raw)) throw bad(field, 'a JSON object');
  for (const name of Object.keys(raw)) if (!KNOWN_FIELDS.has(name)) throw new HttpError(400, `Unknown field "${field}.${name}"`);
  if (Buffer.byteLength(JSON.stringify(raw)) > MAX_NOTIFICATION_BYTES) {
    throw new HttpError(413, `"${field}" is too large: at most ${MAX_NOTIFICATION_BYTES} bytes of JSON`);
  }
  const notification: Notification = {};
  const title = text(raw, 'title', `${field}.title`, MAX_TITLE);
  if (title !== undefined) notification.title = title;
  const body = text(raw, 'body', `${field}.body`, MAX_BODY);
  if (body !== undefined) notification.body = body;
  const url = httpUrl(raw, 'url', `${field}.url`);
  if (url !== undefined) notification.url = url;
  const icon = httpUrl(raw, 'icon', `${field}.icon`);
  if (icon !== undefined) notification.icon = icon;
  if (raw.data !== undefined) {
    if (!isObject(raw.data)) throw bad(`${field}.data`, 'a JSON object');
    notification.data = raw.data;
  }
  const ttl = raw.ttl_seconds;
  if (ttl !== undefined) {
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 0 || ttl > MAX_TTL_SECONDS) {
      throw bad(`${field}.ttl_seconds`, `an integer from 0 to ${MAX_TTL_SECONDS}`);
    }
    notification.ttlSeconds = ttl;
  }
  if (raw.urgency !== undefined) {
    if (!(URGENCIES as readonly unknown[]).includes(raw.urgency)) throw bad(`${field}.urgency`, URGENCIES.join(', '));
    notification.urgency = raw.urgency as Notification['urgency'];
  }
  if (raw.collapse_key !== undefined) {
    if (typeof raw.collapse_key !== 'string' || !COLLAPSE_KEY.test(raw.collapse_key)) throw bad(`${field}.collapse_key`, 'at most 64 characters of [A-Za-z0-9_-]');
    notification.collapseKey = raw.collapse_key;
  }
  for (const provider of PROVIDER_FIELDS) {
    const value = raw[provider];
    if (value === undefined) continue;
    if (!isObject(value)) throw bad(`${field}.${provider}`, 'a JSON object');
    notification[provider] = value;
  }
  return notification;
}
