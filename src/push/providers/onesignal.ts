// OneSignal (docs/PROTOCOL.md §16.3): one REST call per device, addressed by its subscription id.
// OneSignal answers 200 even when nobody gets the notification; the `errors` of that answer say
// whether the subscription is gone (§16.6).
import type { PushConfig } from '../../config/schema.js';
import type { Device, Notification, PushProvider, SendOutcome } from '../types.js';
import { deepMerge, SEND_TIMEOUT_MS, transientOutcome, unansweredOutcome } from './outcome.js';
import { ProviderSettingError } from './setting-error.js';

/** What OneSignal answers when the only subscription it was given cannot receive push. */
const NOT_SUBSCRIBED = 'All included players are not subscribed';
/** The `errors` keys listing ids that are not (or no longer) subscriptions of the app. */
const INVALID_ID_LISTS = ['invalid_subscription_ids', 'invalid_player_ids'] as const;

export function createOneSignalProvider(push: PushConfig): PushProvider {
  const settings = push.onesignal;
  if (settings === undefined) throw new ProviderSettingError('push.onesignal', 'missing');
  const url = `${settings.baseUrl.replace(/\/+$/, '')}/notifications?c=push`;
  const headers = { Authorization: `Key ${settings.restApiKey}`, 'Content-Type': 'application/json', Accept: 'application/json' };

  const body = (device: Device, notification: Notification): string => {
    const message: Record<string, unknown> = {
      app_id: settings.appId,
      include_subscription_ids: [device.token],
      target_channel: 'push',
      ttl: notification.ttlSeconds ?? push.ttlSeconds,
    };
    // OneSignal refuses a push without English contents unless it is a background (data-only)
    // one: a title alone is sent as the contents (under the app's name, OneSignal's default
    // heading) rather than as a heading over the same text.
    if (notification.body !== undefined) {
      message.contents = { en: notification.body };
      if (notification.title !== undefined) message.headings = { en: notification.title };
    } else if (notification.title !== undefined) message.contents = { en: notification.title };
    else message.content_available = true;
    if (notification.url !== undefined) message.url = notification.url;
    if (notification.data !== undefined) message.data = notification.data;
    return JSON.stringify(deepMerge(message, notification.onesignal));
  };

  return {
    name: 'onesignal',
    async send(device, notification, signal) {
      let response: Response;
      let answer: string;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers,
          body: body(device, notification),
          redirect: 'manual',
          signal: AbortSignal.any([signal, AbortSignal.timeout(SEND_TIMEOUT_MS)]),
        });
        answer = await response.text();
      } catch (error) {
        return unansweredOutcome('onesignal', error, signal);
      }
      return outcomeOf(response.status, response.headers.get('retry-after'), answer, device.token);
    },
    async close() {
      // fetch's global agent owns the connections.
    },
  };
}

function outcomeOf(status: number, retryAfter: string | null, answer: string, token: string): SendOutcome {
  const transient = transientOutcome(status, retryAfter, `onesignal: ${status}`);
  if (transient !== undefined) return transient;
  if (status < 200 || status >= 300) return { kind: 'failed', reason: `onesignal: ${status}` };
  let errors: unknown;
  try {
    errors = (JSON.parse(answer) as { errors?: unknown }).errors;
  } catch {
    return { kind: 'failed', reason: `onesignal: ${status} with a body that is not JSON` };
  }
  if (errors === undefined || errors === null) return { kind: 'sent' };
  if (Array.isArray(errors)) {
    if (errors.includes(NOT_SUBSCRIBED)) return { kind: 'dead', reason: 'onesignal: not subscribed' };
    return errors.length === 0 ? { kind: 'sent' } : { kind: 'failed', reason: `onesignal: ${status} with errors` };
  }
  if (typeof errors === 'object') {
    for (const list of INVALID_ID_LISTS) {
      const ids = (errors as Record<string, unknown>)[list];
      if (Array.isArray(ids) && ids.includes(token)) return { kind: 'dead', reason: `onesignal: ${list}` };
    }
  }
  // Errors about other targets (external ids, aliases a merged `onesignal` object added) leave this device reached.
  return { kind: 'sent' };
}
