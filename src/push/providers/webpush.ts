// Web Push (docs/PROTOCOL.md §16.3): the payload encrypted aes128gcm for the subscription (RFC
// 8291) and a VAPID JWT for the push service (RFC 8292), both made by the `web-push` package; the
// request goes out with fetch, which keeps connections alive per push service and honours the
// caller's signal. The endpoint is a capability URL: reasons name only its origin.
import { createECDH, createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { PushConfig } from '../../config/schema.js';
import type { Device, Notification, PushProvider, SendOutcome } from '../types.js';
import { deepMerge, defined, SEND_TIMEOUT_MS, transientOutcome, unansweredOutcome } from './outcome.js';
import { ProviderSettingError } from './setting-error.js';

interface VapidDetails {
  subject: string;
  publicKey: string;
  privateKey: string;
}

interface RequestDetails {
  endpoint: string;
  method: string;
  headers: Record<string, string | number>;
  body: Uint8Array<ArrayBuffer> | null;
}

/** The part of `web-push` (CommonJS, no bundled types) used here. */
interface WebPushLib {
  generateVAPIDKeys(): { publicKey: string; privateKey: string };
  generateRequestDetails(
    subscription: { endpoint: string; keys: { p256dh: string; auth: string } },
    payload: string,
    options: { vapidDetails: VapidDetails; TTL: number; urgency: string; topic?: string; contentEncoding: 'aes128gcm' },
  ): RequestDetails;
}

const webPush = createRequire(import.meta.url)('web-push') as WebPushLib;

/** What `broadcasty keygen --vapid` prints: a fresh P-256 pair, base64url, as push.webpush takes it. */
export const generateVapidKeys = (): { publicKey: string; privateKey: string } => webPush.generateVAPIDKeys();

/** RFC 8030 §5.4: a Topic is at most 32 characters of the base64url alphabet. */
const MAX_TOPIC = 32;

const TOPIC = new RegExp(`^[A-Za-z0-9_-]{1,${MAX_TOPIC}}$`);

/**
 * collapse_key (≤ 64 of [A-Za-z0-9_-]) as a Topic: a key that fits as it is, a longer one hashed
 * so the same key still names the same topic.
 */
function topicOf(collapseKey: string): string {
  return TOPIC.test(collapseKey) ? collapseKey : createHash('sha256').update(collapseKey).digest('base64url').slice(0, MAX_TOPIC);
}

function vapidOf(push: PushConfig): VapidDetails {
  const settings = push.webpush;
  if (settings === undefined) throw new ProviderSettingError('push.webpush', 'not set');
  let derived: string;
  try {
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(Buffer.from(settings.privateKey, 'base64url'));
    derived = ecdh.getPublicKey('base64url');
  } catch {
    throw new ProviderSettingError('push.webpush.privateKey', 'not a P-256 private key (broadcasty keygen --vapid prints a pair)');
  }
  // A mismatched pair signs JWTs every push service refuses: better refused at the start.
  if (derived !== settings.publicKey) {
    throw new ProviderSettingError('push.webpush.publicKey', 'not the public key of push.webpush.privateKey (broadcasty keygen --vapid prints a pair)');
  }
  return settings;
}

/** The JSON the service worker's push event reads: the neutral fields, then `webpush.payload` over them. */
function payloadOf(notification: Notification): string {
  const { title, body, url, icon, data } = notification;
  const extra = notification.webpush?.payload;
  return JSON.stringify(deepMerge(defined({ title, body, url, icon, data }), typeof extra === 'object' && extra !== null ? (extra as Record<string, unknown>) : undefined));
}

export function createWebPushProvider(push: PushConfig): PushProvider {
  const vapidDetails = vapidOf(push);

  function request(device: Device, notification: Notification): RequestDetails | SendOutcome {
    if (device.keys === undefined) return { kind: 'failed', reason: 'webpush: subscription without keys' };
    try {
      const topic = notification.collapseKey === undefined ? undefined : topicOf(notification.collapseKey);
      return webPush.generateRequestDetails({ endpoint: device.token, keys: device.keys }, payloadOf(notification), {
        vapidDetails,
        TTL: notification.ttlSeconds ?? push.ttlSeconds,
        urgency: notification.urgency ?? 'normal',
        contentEncoding: 'aes128gcm',
        ...(topic === undefined ? {} : { topic }),
      });
    } catch {
      // The subscription's p256dh is no point on the curve: no payload can ever be encrypted for it.
      return { kind: 'failed', reason: 'webpush: subscription keys unusable' };
    }
  }

  return {
    name: 'webpush',

    async send(device, notification, signal) {
      const details = request(device, notification);
      if ('kind' in details) return details;
      let origin: string;
      try {
        origin = new URL(details.endpoint).origin;
      } catch {
        return { kind: 'failed', reason: 'webpush: endpoint not a URL' };
      }
      const headers = Object.fromEntries(Object.entries(details.headers).map(([name, value]) => [name, String(value)]));
      let response: Response;
      try {
        response = await fetch(details.endpoint, {
          method: details.method,
          headers,
          body: details.body,
          redirect: 'manual',
          signal: AbortSignal.any([signal, AbortSignal.timeout(SEND_TIMEOUT_MS)]),
        });
        // Read the (small) answer so the connection goes back to the pool.
        await response.arrayBuffer();
      } catch (error) {
        return unansweredOutcome('webpush', error, signal);
      }
      const { status } = response;
      if (status >= 200 && status < 300) return { kind: 'sent' };
      const reason = `webpush: ${status} from ${origin}`;
      // 404/410: the browser unsubscribed or the subscription expired (RFC 8030 §7.3).
      if (status === 404 || status === 410) return { kind: 'dead', reason };
      return transientOutcome(status, response.headers.get('retry-after'), reason) ?? { kind: 'failed', reason };
    },

    async close() {},
  };
}
