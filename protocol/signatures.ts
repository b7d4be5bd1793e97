// Auth signatures (docs/PROTOCOL.md §4): lowercase hex HMAC-SHA256 keyed with the app secret,
// over the exact bytes received. Tokens are "<app_key>:<hex>".
import { createHash, createHmac, createSecretKey, hash, timingSafeEqual, type KeyObject } from 'node:crypto';

export function hmacHex(secret: string, message: string): string {
  return createHmac('sha256', secret).update(message, 'utf8').digest('hex');
}

export function md5Hex(body: string | Uint8Array): string {
  return hash('md5', body, 'hex');
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;

// Importing a key object once per secret saves a key copy on every verification.
const keys = new Map<string, KeyObject>();
function secretKey(secret: string): KeyObject {
  let key = keys.get(secret);
  if (key === undefined) {
    if (keys.size > 10_000) keys.clear();
    keys.set(secret, (key = createSecretKey(Buffer.from(secret, 'utf8'))));
  }
  return key;
}

/** Constant-time check of a hex HMAC-SHA256 against the one computed here, without hex-encoding ours. */
export function hmacMatches(secret: string, message: string, givenHex: string): boolean {
  const expected = createHmac('sha256', secretKey(secret)).update(message, 'utf8').digest();
  if (!HEX_SHA256.test(givenHex)) return false;
  return timingSafeEqual(expected, Buffer.from(givenHex, 'hex'));
}

export function channelStringToSign(socketId: string, channel: string, channelData?: string): string {
  return channelData === undefined ? `${socketId}:${channel}` : `${socketId}:${channel}:${channelData}`;
}

export function userStringToSign(socketId: string, userData: string): string {
  return `${socketId}::user::${userData}`;
}

export function signChannel(key: string, secret: string, socketId: string, channel: string, channelData?: string): string {
  return `${key}:${hmacHex(secret, channelStringToSign(socketId, channel, channelData))}`;
}

export function signUser(key: string, secret: string, socketId: string, userData: string): string {
  return `${key}:${hmacHex(secret, userStringToSign(socketId, userData))}`;
}

/** Constant-time comparison of two hex digests (or any ASCII strings). */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  if (left.length !== right.length) {
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}

export type TokenCheck = { ok: true } | { ok: false; reason: 'malformed' | 'wrong-key' | 'wrong-signature'; message: string };

/** Verifies a "<key>:<hex>" token against the string to sign, with the hosted error texts. */
export function verifyToken(token: unknown, key: string, secret: string, stringToSign: string): TokenCheck {
  if (typeof token !== 'string' || token.length === 0) {
    return { ok: false, reason: 'malformed', message: 'Invalid signature: auth is required for this channel' };
  }
  const colon = token.indexOf(':');
  const tokenKey = colon === -1 ? '' : token.slice(0, colon);
  if (colon === -1 || !safeEqual(tokenKey, key)) {
    return { ok: false, reason: 'wrong-key', message: `Invalid key in subscription auth data: '${tokenKey}'` };
  }
  const given = token.slice(colon + 1);
  if (!safeEqual(given, hmacHex(secret, stringToSign))) {
    return {
      ok: false,
      reason: 'wrong-signature',
      message: `Invalid signature: Expected HMAC SHA256 hex digest of ${stringToSign}, but got ${given}`,
    };
  }
  return { ok: true };
}

/** base64(SHA256(channel || masterKey)) — the encrypted-channel shared secret (§4). */
export function encryptedSharedSecret(channel: string, masterKeyBase64: string): string {
  const masterKey = Buffer.from(masterKeyBase64, 'base64');
  if (masterKey.length !== 32) throw new Error('encryption master key must decode to exactly 32 bytes');
  return createHash('sha256').update(Buffer.concat([Buffer.from(channel, 'utf8'), masterKey])).digest('base64');
}
