// APNs (docs/PROTOCOL.md §16.3, §16.6): HTTP/2 POST /3/device/{token} with a provider token,
// production or sandbox as the device was registered. The answer's `reason` says whether the
// token is dead, the send may be retried, or it failed for good.
import { constants, type OutgoingHttpHeaders } from 'node:http2';
import type { PushConfig } from '../../config/schema.js';
import type { Device, Notification, PushProvider, SendOutcome } from '../types.js';
import { Http2Sessions } from './apns-sessions.js';
import { loadSigningKey, ProviderToken } from './apns-token.js';
import { deepMerge, SEND_TIMEOUT_MS, transientOutcome, unansweredOutcome } from './outcome.js';
import { ProviderSettingError } from './setting-error.js';

/** Not part of the app's settings: lets tests trust a fake APNs's self-signed certificate and move the token clock. */
export interface ApnsTestOptions {
  /** PEM of a CA trusted besides the system's. */
  ca?: string;
  /** Epoch ms, for the token's age and `iat`. */
  now?: () => number;
}

/** 400 reasons that mean the token will never work for this app. */
const DEAD_TOKEN_REASONS = new Set(['BadDeviceToken', 'DeviceTokenNotForTopic']);
/** aps keys that make a visible (alert) notification; without any it is a background one. */
const ALERT_KEYS = ['alert', 'sound', 'badge'];
const EXPIRED_TOKEN = 'apns: 403 ExpiredProviderToken';

export function createApnsProvider(push: PushConfig, options: ApnsTestOptions = {}): PushProvider {
  const settings = push.apns;
  if (settings === undefined) throw new ProviderSettingError('push.apns', 'missing');
  const now = options.now ?? Date.now;
  const token = new ProviderToken(loadSigningKey(settings), settings.keyId, settings.teamId, now);
  const sessions = new Http2Sessions(options.ca);
  const origins = { production: new URL(settings.baseUrl).origin, sandbox: new URL(settings.sandboxBaseUrl).origin };

  const request = (device: Device, notification: Notification): { headers: OutgoingHttpHeaders; body: string } => {
    const payload = payloadOf(notification);
    const aps = payload.aps as Record<string, unknown>;
    const background = !ALERT_KEYS.some((key) => key in aps);
    // Apple requires content-available and priority 5 for a background push.
    if (background && !('content-available' in aps)) aps['content-available'] = 1;
    const ttl = notification.ttlSeconds ?? push.ttlSeconds;
    const headers: OutgoingHttpHeaders = {
      [constants.HTTP2_HEADER_PATH]: `/3/device/${encodeURIComponent(device.token)}`,
      [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/json',
      'apns-topic': settings.topic,
      'apns-push-type': background ? 'background' : 'alert',
      'apns-priority': background || notification.urgency === 'low' || notification.urgency === 'very-low' ? '5' : '10',
      // 0 is Apple's "deliver now or never"; any other value is when APNs stops trying.
      'apns-expiration': ttl === 0 ? '0' : String(Math.floor(now() / 1000) + ttl),
    };
    if (notification.collapseKey !== undefined) headers['apns-collapse-id'] = notification.collapseKey;
    return { headers, body: JSON.stringify(payload) };
  };

  return {
    name: 'apns',
    async send(device, notification, signal) {
      try {
        const { headers, body } = request(device, notification);
        const jwt = await token.get();
        headers[constants.HTTP2_HEADER_AUTHORIZATION] = `bearer ${jwt}`;
        const origin = device.sandbox === true ? origins.sandbox : origins.production;
        const answer = await sessions.request(origin, headers, body, AbortSignal.any([signal, AbortSignal.timeout(SEND_TIMEOUT_MS)]));
        const outcome = outcomeOf(answer.status, answer.headers['retry-after'], answer.body);
        if (outcome.kind === 'retry' && outcome.reason === EXPIRED_TOKEN) await token.expire(jwt);
        return outcome;
      } catch (error) {
        return unansweredOutcome('apns', error, signal);
      }
    },
    close: () => sessions.close(),
  };
}

/** `{"aps": {"alert": {title, body}}, "url", ...data}` deep-merged with `apns`; `aps` always an object of its own. */
function payloadOf(notification: Notification): Record<string, unknown> {
  const { title, body, url, data } = notification;
  const alert = { ...(title === undefined ? {} : { title }), ...(body === undefined ? {} : { body }) };
  const base: Record<string, unknown> = { ...data, aps: title === undefined && body === undefined ? {} : { alert } };
  if (url !== undefined) base.url = url;
  const merged = deepMerge(base, notification.apns);
  const aps = merged.aps;
  return { ...merged, aps: typeof aps === 'object' && aps !== null && !Array.isArray(aps) ? { ...aps } : {} };
}

function outcomeOf(status: number, retryAfter: string | string[] | undefined, answer: string): SendOutcome {
  if (status === 200) return { kind: 'sent' };
  let reason = '';
  try {
    const parsed = (JSON.parse(answer) as { reason?: unknown }).reason;
    // Apple's reasons are single words; anything else is not repeated into logs.
    if (typeof parsed === 'string' && /^[A-Za-z]{1,64}$/.test(parsed)) reason = parsed;
  } catch {
    // the status alone says enough
  }
  const said = `apns: ${status}${reason === '' ? '' : ` ${reason}`}`;
  if (status === 410 || (status === 400 && DEAD_TOKEN_REASONS.has(reason))) return { kind: 'dead', reason: said };
  // The caller renews the token; the queue tries the send again.
  if (said === EXPIRED_TOKEN) return { kind: 'retry', reason: said };
  return transientOutcome(status, Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, said) ?? { kind: 'failed', reason: said };
}
