// FCM HTTP v1 (docs/PROTOCOL.md §16.3): `POST {baseUrl}/v1/projects/{project_id}/messages:send`
// with an OAuth2 access token (fcm-token.ts). What FCM's error answers mean (§16.6) is read from
// their google.rpc status: `UNREGISTERED`, or INVALID_ARGUMENT about `message.token`, is a dead
// token; anything else about the request fails it, 429 and 5xx retry.
import type { PushConfig } from '../../config/schema.js';
import type { Notification, PushProvider, SendOutcome } from '../types.js';
import { AccessTokens, serviceAccountOf, TokenUnavailable } from './fcm-token.js';
import { deepMerge, defined, SEND_TIMEOUT_MS, transientOutcome, unansweredOutcome } from './outcome.js';

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** FCM refuses data values that are not strings: other JSON values travel as their JSON text. */
const stringValues = (data: Record<string, unknown>): Record<string, string> =>
  Object.fromEntries(Object.entries(data).map(([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)]));

/** The v1 `message` for one device: what the neutral fields make, `fcm` deep-merged over it. */
function fcmMessage(token: string, notification: Notification, defaultTtlSeconds: number): Record<string, unknown> {
  const { title, body, icon, url, data, urgency, collapseKey } = notification;
  const shown = defined({ title, body, image: icon });
  const made = defined({
    notification: Object.keys(shown).length > 0 ? shown : undefined,
    data: { ...data, ...(url === undefined ? {} : { url }) },
    android: defined({
      ttl: `${notification.ttlSeconds ?? defaultTtlSeconds}s`,
      collapse_key: collapseKey,
      priority: urgency === undefined ? undefined : urgency === 'high' ? 'high' : 'normal',
    }),
    // FCM takes only https links; an http url still reaches the app through data.url.
    webpush: url?.startsWith('https:') ? { fcm_options: { link: url } } : undefined,
  });
  const merged = deepMerge(made, notification.fcm);
  const values = isObject(merged.data) ? stringValues(merged.data) : merged.data;
  return { ...merged, data: isObject(values) && Object.keys(values).length === 0 ? undefined : values, token };
}

interface FcmError {
  /** google.rpc status, e.g. INVALID_ARGUMENT, NOT_FOUND. */
  status?: string;
  /** FcmError.errorCode from the details, e.g. UNREGISTERED, SENDER_ID_MISMATCH. */
  errorCode?: string;
  /** The error is about the registration token. */
  aboutToken: boolean;
}

/** An error answer's body: `{"error": {"status", "message", "details": [FcmError, BadRequest…]}}`. */
function fcmError(text: string): FcmError {
  let error: unknown;
  try {
    error = (JSON.parse(text) as { error?: unknown }).error;
  } catch {
    return { aboutToken: false };
  }
  if (!isObject(error)) return { aboutToken: false };
  const details = Array.isArray(error.details) ? error.details.filter(isObject) : [];
  const errorCode = details.map((detail) => detail.errorCode).find((code) => typeof code === 'string') as string | undefined;
  const violations = details.flatMap((detail) => (Array.isArray(detail.fieldViolations) ? detail.fieldViolations.filter(isObject) : []));
  const aboutToken = violations.some((violation) => violation.field === 'message.token') || (typeof error.message === 'string' && /registration token/i.test(error.message));
  return { status: typeof error.status === 'string' ? error.status : undefined, errorCode, aboutToken };
}

function outcomeOf(response: Response, text: string): SendOutcome {
  if (response.ok) return { kind: 'sent' };
  const error = fcmError(text);
  const code = error.errorCode ?? error.status;
  const reason = code === undefined ? `fcm: ${response.status}` : `fcm: ${response.status} ${code}`;
  if (code === 'UNREGISTERED') return { kind: 'dead', reason };
  if (response.status === 400 && code === 'INVALID_ARGUMENT' && error.aboutToken) return { kind: 'dead', reason: `${reason} (token)` };
  return transientOutcome(response.status, response.headers.get('retry-after'), reason) ?? { kind: 'failed', reason };
}

export function createFcmProvider(push: PushConfig): PushProvider {
  const account = serviceAccountOf(push);
  const tokens = new AccessTokens(account);
  const url = `${push.fcm!.baseUrl.replace(/\/+$/, '')}/v1/projects/${encodeURIComponent(account.projectId)}/messages:send`;

  return {
    name: 'fcm',

    async send(device, notification, signal) {
      const body = JSON.stringify({ message: fcmMessage(device.token, notification, push.ttlSeconds) });
      // A 401 means the cached token was revoked or expired early: one fresh token, one more try.
      for (let attempt = 1; ; attempt++) {
        let token: string;
        try {
          token = await tokens.get();
        } catch (error) {
          if (error instanceof TokenUnavailable) return error.outcome;
          return { kind: 'failed', reason: 'fcm: signing the token assertion failed' };
        }
        let response: Response;
        let text: string;
        try {
          response = await fetch(url, {
            method: 'POST',
            headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
            body,
            redirect: 'manual',
            signal: AbortSignal.any([signal, AbortSignal.timeout(SEND_TIMEOUT_MS)]),
          });
          text = await response.text();
        } catch (error) {
          return unansweredOutcome('fcm', error, signal);
        }
        if (response.status === 401 && attempt === 1) {
          tokens.drop(token);
          continue;
        }
        return outcomeOf(response, text);
      }
    },

    async close() {
      tokens.close();
    },
  };
}
