// docs/PROTOCOL.md §4 and §5.2 signatures, written from the spec rather than imported from src/ or
// protocol/: a black-box suite that shared the server's signer would pass a wrong signer.
import { createHash, createHmac } from 'node:crypto';

export const hmacHex = (secret: string, text: string): string => createHmac('sha256', secret).update(text, 'utf8').digest('hex');
export const md5Hex = (text: string): string => createHash('md5').update(text, 'utf8').digest('hex');

/** Private/encrypted: `socket_id:channel`; presence (or private with channel_data): `…:channel_data`. */
export function signChannel(secret: string, key: string, socketId: string, channel: string, channelData?: string): string {
  const text = channelData === undefined ? `${socketId}:${channel}` : `${socketId}:${channel}:${channelData}`;
  return `${key}:${hmacHex(secret, text)}`;
}

/** `pusher:signin`: `socket_id::user::user_data` over the exact user_data string. */
export function signUser(secret: string, key: string, socketId: string, userData: string): string {
  return `${key}:${hmacHex(secret, `${socketId}::user::${userData}`)}`;
}

/**
 * §5.2: the signed query string for `METHOD path` (path as signed: `/apps/{id}/…`, never the
 * server prefix). Keys lower-cased and byte-sorted, no URL escaping in the string to sign.
 */
export function signedQuery(
  creds: { key: string; secret: string },
  method: string,
  path: string,
  body?: string,
  params: Record<string, string> = {},
  timestamp = Math.floor(Date.now() / 1000),
): string {
  const query: Record<string, string> = { ...params, auth_key: creds.key, auth_timestamp: String(timestamp), auth_version: '1.0' };
  if (body !== undefined && body !== '') query.body_md5 = md5Hex(body);
  const sorted = Object.entries(query)
    .map(([k, v]) => [k.toLowerCase(), v] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const toSign = `${method.toUpperCase()}\n${path}\n${sorted.map(([k, v]) => `${k}=${v}`).join('&')}`;
  const signature = hmacHex(creds.secret, toSign);
  return [...sorted, ['auth_signature', signature] as const].map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
}
