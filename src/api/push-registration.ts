// A device registration body (docs/PROTOCOL.md §16.2) → Device. Errors are 400s naming the field.
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { HttpError } from './reply.js';
import type { App } from '../apps/registry.js';
import { PROVIDERS, type Device, type ProviderName } from '../push/types.js';

const MAX_INTERESTS = 100;
/** Pusher Beams' rule for interest names. */
const INTEREST = /^[A-Za-z0-9_\-=@,.;]{1,164}$/;
const MAX_ENDPOINT = 2048;
const FCM_TOKEN = /^[A-Za-z0-9_:.-]{1,4096}$/;
const APNS_TOKEN = /^[0-9A-Fa-f]{64,200}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/;

/** Stable for a provider and token, so registering a token again updates the same device. */
export function deviceId(provider: ProviderName, token: string): string {
  return createHash('sha256').update(`${provider}\u0000${token}`).digest('base64url').slice(0, 22);
}

const bad = (field: string, expected: string) => new HttpError(400, `Invalid "${field}": ${expected}`);

function base64urlBytes(value: unknown, field: string, bytes: number, what: string): string {
  if (typeof value !== 'string' || !BASE64URL.test(value) || Buffer.from(value, 'base64url').length !== bytes) throw bad(field, `base64url of ${what}`);
  return value;
}

/** A body's `interests`: at most 100 names of Beams' characters, each once. */
export function parseInterests(raw: unknown, field = 'interests'): string[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw) || raw.length > MAX_INTERESTS) throw bad(field, `an array of at most ${MAX_INTERESTS} names`);
  for (const interest of raw) {
    if (typeof interest !== 'string' || !INTEREST.test(interest)) throw bad(field, 'names of 1-164 characters of [A-Za-z0-9_-=@,.;]');
  }
  return [...new Set(raw as string[])];
}

/** `host` is one of `patterns`, or under one of its `*.suffix` ones. */
const hostListed = (host: string, patterns: readonly string[]): boolean =>
  patterns.some((pattern) => (pattern.startsWith('*.') ? host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1 : host === pattern));

/**
 * The endpoint is where the server will POST: a push service's https URL on its default port,
 * never an address, so a registration cannot aim the server at loopback or internal hosts.
 */
function endpointOf(value: unknown, endpointHosts: readonly string[]): string {
  if (typeof value !== 'string' || value.length > MAX_ENDPOINT || !value.startsWith('https://') || !URL.canParse(value)) {
    throw bad('subscription.endpoint', `an https: URL of at most ${MAX_ENDPOINT} characters`);
  }
  const url = new URL(value);
  // The URL parser turns every IPv4 spelling (0x7f.1, 2130706433) into dotted form; IPv6 comes bracketed.
  if (isIP(url.hostname) !== 0 || url.hostname.startsWith('[')) throw bad('subscription.endpoint', "a push service's URL, not an IP address");
  if (url.port !== '' || url.username !== '' || url.password !== '') throw bad('subscription.endpoint', "a push service's URL on the default port, without user or password");
  if (!hostListed(url.hostname, endpointHosts)) {
    throw bad('subscription.endpoint', `a URL of a push service this app accepts (push.webpush.endpointHosts: ${endpointHosts.join(', ')})`);
  }
  return value;
}

function webPushDevice(body: Record<string, unknown>, endpointHosts: readonly string[]): Pick<Device, 'token' | 'keys'> {
  const subscription = body.subscription;
  if (typeof subscription !== 'object' || subscription === null || Array.isArray(subscription)) throw bad('subscription', 'the PushSubscription as JSON');
  const { endpoint: raw, keys } = subscription as Record<string, unknown>;
  const endpoint = endpointOf(raw, endpointHosts);
  if (typeof keys !== 'object' || keys === null) throw bad('subscription.keys', 'an object with p256dh and auth');
  const { p256dh, auth } = keys as Record<string, unknown>;
  const point = base64urlBytes(p256dh, 'subscription.keys.p256dh', 65, 'a 65-byte uncompressed P-256 point');
  if (Buffer.from(point, 'base64url')[0] !== 0x04) throw bad('subscription.keys.p256dh', 'base64url of a 65-byte uncompressed P-256 point');
  return { token: endpoint, keys: { p256dh: point, auth: base64urlBytes(auth, 'subscription.keys.auth', 16, '16 bytes') } };
}

function token(body: Record<string, unknown>, pattern: RegExp, expected: string): string {
  if (typeof body.token !== 'string' || !pattern.test(body.token)) throw bad('token', expected);
  return body.token;
}

/**
 * The device a body registers for `app` (which has `push`); `userId` is whose it is (the JWT's
 * user, or the signed body's `user_id`). `createdAt` is now: a store keeps the first one.
 */
export function parseRegistration(app: App, body: Record<string, unknown>, userId: string | undefined): Device {
  const provider = body.provider;
  if (typeof provider !== 'string' || !(PROVIDERS as readonly string[]).includes(provider)) throw bad('provider', PROVIDERS.join(', '));
  const name = provider as ProviderName;
  if (app.push?.[name] === undefined) throw new HttpError(400, `Invalid "provider": ${name} is not configured for this app (push.${name})`);
  let device: Pick<Device, 'token' | 'keys' | 'sandbox'>;
  switch (name) {
    case 'webpush':
      device = webPushDevice(body, app.push!.webpush!.endpointHosts);
      break;
    case 'fcm':
      device = { token: token(body, FCM_TOKEN, 'an FCM registration token (1-4096 characters of [A-Za-z0-9_:.-])') };
      break;
    case 'apns':
      if (body.sandbox !== undefined && typeof body.sandbox !== 'boolean') throw bad('sandbox', 'true or false');
      device = { token: token(body, APNS_TOKEN, 'an APNs device token (64-200 hex characters)').toLowerCase(), ...(body.sandbox === true ? { sandbox: true } : {}) };
      break;
    case 'onesignal':
      device = { token: token(body, UUID, 'a OneSignal subscription id (a UUID)').toLowerCase() };
      break;
  }
  return {
    id: deviceId(name, device.token),
    appId: app.id,
    provider: name,
    ...device,
    ...(userId === undefined ? {} : { userId }),
    interests: parseInterests(body.interests),
    createdAt: Date.now(),
  };
}
