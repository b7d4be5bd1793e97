// Pusher signatures computed locally (PROTOCOL §4, §5.2) so the bench needs nothing from
// src/ and works against any Pusher-compatible server.
import { createHash, createHmac } from 'node:crypto';

const hmac = (secret: string, text: string): string => createHmac('sha256', secret).update(text).digest('hex');

/**
 * Returns the full query string (without '?') for a signed REST request:
 * HMAC-SHA256 over `METHOD\npath\nsorted-lowercased-query` with auth_key, auth_timestamp,
 * auth_version=1.0 and, for a non-empty body, body_md5.
 */
export function signedQuery(
  method: string,
  path: string,
  body: string,
  key: string,
  secret: string,
  extra: Record<string, string> = {},
  timestamp = Math.floor(Date.now() / 1000),
): string {
  const params: Record<string, string> = { ...extra, auth_key: key, auth_timestamp: String(timestamp), auth_version: '1.0' };
  if (body.length > 0) params.body_md5 = createHash('md5').update(body).digest('hex');
  const sorted = Object.keys(params)
    .map((k) => [k.toLowerCase(), params[k]] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const toSign = sorted.map(([k, v]) => `${k}=${v}`).join('&');
  const signature = hmac(secret, `${method.toUpperCase()}\n${path}\n${toSign}`);
  // The signature covers decoded values; the wire form is percent-encoded like the PHP SDK sends.
  return [...sorted.map(([k, v]) => `${k}=${encodeURIComponent(v)}`), `auth_signature=${signature}`].join('&');
}

/** `auth` for private channels: key:HMAC(socket_id:channel). */
export function privateAuth(key: string, secret: string, socketId: string, channel: string): string {
  return `${key}:${hmac(secret, `${socketId}:${channel}`)}`;
}

/** `auth` for presence channels: key:HMAC(socket_id:channel:channel_data) over the exact string sent. */
export function presenceAuth(key: string, secret: string, socketId: string, channel: string, channelData: string): string {
  return `${key}:${hmac(secret, `${socketId}:${channel}:${channelData}`)}`;
}
