// Auth signatures (docs/PROTOCOL.md §4): lowercase hex HMAC-SHA256 keyed with the app secret,
// over the exact bytes received. Tokens are "<app_key>:<hex>".
import { createHash, hash, timingSafeEqual } from 'node:crypto';

export function md5Hex(body: string | Uint8Array): string {
  return hash('md5', body, 'hex');
}

const BLOCK = 64;
const DIGEST = 32;

/** A secret's HMAC pads (RFC 2104): the inner one, and the outer one with room for the inner digest. */
interface Pads {
  inner: Buffer;
  outer: Buffer;
}

// Computed once per secret; every verification after that hashes with no key setup at all.
const padsBySecret = new Map<string, Pads>();
function padsFor(secret: string): Pads {
  let pads = padsBySecret.get(secret);
  if (pads === undefined) {
    if (padsBySecret.size > 10_000) padsBySecret.clear();
    const bytes = Buffer.from(secret, 'utf8');
    const key = Buffer.alloc(BLOCK);
    (bytes.length > BLOCK ? hash('sha256', bytes, 'buffer') : bytes).copy(key);
    pads = { inner: Buffer.alloc(BLOCK), outer: Buffer.alloc(BLOCK + DIGEST) };
    for (let i = 0; i < BLOCK; i++) {
      pads.inner[i] = key[i]! ^ 0x36;
      pads.outer[i] = key[i]! ^ 0x5c;
    }
    padsBySecret.set(secret, pads);
  }
  return pads;
}

/** Inner pad + message for every message up to ~5 KB (query strings, channel auth); longer ones get their own. */
const scratch = Buffer.allocUnsafe(16 * 1024);

/**
 * Lowercase hex HMAC-SHA256 of the message's UTF-8 bytes, from two one-shot hashes over the
 * secret's cached pads: createHmac builds a stream object with a native handle per call, which
 * on the HTTP API's hot path cost more than both hashes.
 */
export function hmacHex(secret: string, message: string): string {
  const pads = padsFor(secret);
  const most = BLOCK + message.length * 3;
  const inner = most <= scratch.length ? scratch : Buffer.allocUnsafe(most);
  pads.inner.copy(inner, 0);
  const length = BLOCK + inner.write(message, BLOCK, 'utf8');
  hash('sha256', inner.subarray(0, length), 'buffer').copy(pads.outer, BLOCK);
  return hash('sha256', pads.outer, 'hex');
}

/** Constant-time check of a lowercase hex HMAC-SHA256 against the one computed here. */
export function hmacMatches(secret: string, message: string, givenHex: string): boolean {
  if (givenHex.length !== DIGEST * 2) return false;
  const expected = hmacHex(secret, message);
  // Every character compared whatever differs: no early exit to time.
  let difference = 0;
  for (let i = 0; i < expected.length; i++) difference |= expected.charCodeAt(i) ^ givenHex.charCodeAt(i);
  return difference === 0;
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
