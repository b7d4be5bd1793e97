// The Pusher Beams publish API (docs/PROTOCOL.md §16.4): POST /publish_api/v1/instances/{app id}/
// publishes/users and …/interests, as @pusher/push-notifications-server and the PHP SDK send them.
// Beams bodies carry one payload per platform: `web` goes to Web Push devices, `fcm` to FCM ones,
// `apns` to APNs ones (OneSignal devices have no Beams payload and get nothing). Errors are Beams'
// `{"error", "description"}`; the SDKs show both.
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Endpoint, EndpointInput } from './endpoint.js';
import { parseJsonObject } from './event-input.js';
import { HttpError, json } from './reply.js';
import type { HttpReply } from '../transport/types.js';
import { invalid, isObject, type Json, MAX_TTL_SECONDS, optionalObject, optionalString, optionalTtl, optionalUrl } from './push-notification.js';
import { parseInterests } from './push-registration.js';
import type { Notification, ProviderName } from '../push/types.js';

/** Beams' limits on user ids (its server SDKs check the same); interests follow §16.2's rule, which is Beams'. */
const MAX_USERS = 1000;
const MAX_USER_ID = 164;
/** One platform's payload, as JSON; providers cap theirs near this (APNs: 4 KB). */
const MAX_PAYLOAD_BYTES = 4096;

export const isBeamsPath = (path: string) => path.startsWith('/publish_api/');

/** Beams' error shape: the status's reason phrase and what was wrong. */
export const beamsError = (status: number, description: string): HttpReply => json({ error: STATUS_CODES[status] ?? 'Error', description }, status);

export const publishToUsers: Endpoint = (input) => publish(input, 'users');
export const publishToInterests: Endpoint = (input) => publish(input, 'interests');

async function publish({ app, body, ctx }: EndpointInput, target: 'users' | 'interests'): Promise<HttpReply> {
  const fields = parseJsonObject(body);
  const names = target === 'users' ? userIds(fields.users) : parseInterests(fields.interests);
  if (names.length === 0) throw new HttpError(400, `Missing "${target}": Beams publishes need at least one`);
  const notifications = platformNotifications(fields);
  if (notifications.size === 0) throw new HttpError(400, 'The publish has no payload: set at least one of "web", "fcm" and "apns"');
  const { push } = ctx;
  const devices = target === 'users' ? await push.devices.forUsers(app.id, names) : await push.devices.forInterests(app.id, names);
  for (const [provider, notification] of notifications) {
    const reached = devices.filter((device) => device.provider === provider);
    if (reached.length > 0) await push.notify(app, reached, notification);
  }
  return json({ publishId: `pubid-${randomUUID()}` });
}

function userIds(value: unknown): string[] {
  if (!Array.isArray(value)) throw new HttpError(400, 'Invalid "users": an array of user ids');
  if (value.length > MAX_USERS) throw new HttpError(400, `Too many users: at most ${MAX_USERS}`);
  if (value.some((id) => typeof id !== 'string' || id === '' || id.length > MAX_USER_ID)) throw new HttpError(400, `Invalid "users": user ids are strings of 1 to ${MAX_USER_ID} characters`);
  return [...new Set(value as string[])];
}

/** The payloads the body carries, each as the provider-neutral notification of its provider. */
function platformNotifications(fields: Json): Map<ProviderName, Notification> {
  const notifications = new Map<ProviderName, Notification>();
  for (const [field, provider, map] of [
    ['web', 'webpush', webNotification],
    ['fcm', 'fcm', fcmNotification],
    ['apns', 'apns', apnsNotification],
  ] as const) {
    const payload = fields[field];
    if (payload === undefined) continue;
    if (!isObject(payload)) throw new HttpError(400, `"${field}" must be a JSON object`);
    if (Buffer.byteLength(JSON.stringify(payload)) > MAX_PAYLOAD_BYTES) throw new HttpError(413, `"${field}" is too large: at most ${MAX_PAYLOAD_BYTES} bytes of JSON`);
    notifications.set(provider, map(payload));
  }
  return notifications;
}

/** `web`: {notification: {title, body, icon, deep_link, hide_notification_if_site_has_focus}, data, time_to_live}. */
function webNotification(web: Json): Notification {
  const shown = optionalObject(web, 'notification', 'web');
  const notification: Notification = {
    title: optionalString(shown, 'title', 'web.notification'),
    body: optionalString(shown, 'body', 'web.notification'),
    icon: optionalUrl(shown, 'icon', 'web.notification'),
    url: optionalUrl(shown, 'deep_link', 'web.notification'),
    data: optionalObject(web, 'data', 'web'),
    ttlSeconds: optionalTtl(web, 'time_to_live', 'web'),
  };
  // Rides in the Web Push payload for the service worker to honour, as Beams' does.
  if (shown?.hide_notification_if_site_has_focus === true) notification.webpush = { payload: { hide_notification_if_site_has_focus: true } };
  return notification;
}

/**
 * `fcm`: the legacy FCM shape Beams takes — {notification: {title, body, icon, sound, tag, color,
 * click_action, android_channel_id, …_loc_…}, data, time_to_live, collapse_key, priority}; the
 * Android-only notification fields go where FCM HTTP v1 wants them, android.notification.
 */
function fcmNotification(fcm: Json): Notification {
  const shown = optionalObject(fcm, 'notification', 'fcm') ?? {};
  const { title, body, android_channel_id: channelId, ...android } = shown;
  const priority = fcm.priority;
  if (priority !== undefined && priority !== 'normal' && priority !== 'high') throw invalid('fcm.priority', '"normal" or "high"');
  const collapseKey = optionalString(fcm, 'collapse_key', 'fcm');
  const androidNotification = channelId === undefined ? android : { ...android, channel_id: channelId };
  return {
    title: optionalString(shown, 'title', 'fcm.notification'),
    body: optionalString(shown, 'body', 'fcm.notification'),
    data: optionalObject(fcm, 'data', 'fcm'),
    ttlSeconds: optionalTtl(fcm, 'time_to_live', 'fcm'),
    urgency: priority === 'high' ? 'high' : 'normal',
    collapseKey,
    fcm: Object.keys(androidNotification).length === 0 ? undefined : { android: { notification: androidNotification } },
  };
}

/**
 * `apns`: {aps, data, collapse_id, expiration, priority} — the device gets aps and data as Beams
 * sends them; title and body are read from aps.alert so that an alert is sent as one (a payload
 * without them goes out as a background push).
 */
function apnsNotification(apns: Json): Notification {
  const aps = optionalObject(apns, 'aps', 'apns');
  if (aps === undefined) throw new HttpError(400, 'Missing "apns.aps": a JSON object');
  const alert = aps.alert;
  if (alert !== undefined && typeof alert !== 'string' && !isObject(alert)) throw invalid('apns.aps.alert', 'a string or a JSON object');
  const priority = apns.priority;
  if (priority !== undefined && priority !== 5 && priority !== 10) throw invalid('apns.priority', '5 or 10');
  const expiration = apns.expiration;
  if (expiration !== undefined && (typeof expiration !== 'number' || !Number.isInteger(expiration) || expiration < 0)) {
    throw invalid('apns.expiration', 'Unix seconds');
  }
  const collapseId = optionalString(apns, 'collapse_id', 'apns');
  const data = optionalObject(apns, 'data', 'apns');
  return {
    title: isObject(alert) ? optionalString(alert, 'title', 'apns.aps.alert') : undefined,
    body: typeof alert === 'string' ? alert : isObject(alert) ? optionalString(alert, 'body', 'apns.aps.alert') : undefined,
    urgency: priority === 5 ? 'low' : 'high',
    ttlSeconds: expiration === undefined ? undefined : Math.min(MAX_TTL_SECONDS, Math.max(0, expiration - Math.floor(Date.now() / 1000))),
    collapseKey: collapseId,
    apns: data === undefined ? { aps } : { aps, data },
  };
}
