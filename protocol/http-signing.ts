// HTTP API request signing (docs/PROTOCOL.md §5.2, the `pusher-signature` gem's algorithm).
import { hmacHex, hmacMatches, md5Hex } from './signatures.js';

export const TIMESTAMP_SKEW_SECONDS = 600;

/** Decodes a query string; keys lower-cased, `+` as space, repeated keys joined with `,` (PHP arrays). */
export function parseQuery(rawQuery: string): Map<string, string> {
  const params = new Map<string, string>();
  // One walk over the raw string: no array of parts, each key and value sliced once.
  for (let start = 0; start < rawQuery.length; ) {
    let end = rawQuery.indexOf('&', start);
    if (end === -1) end = rawQuery.length;
    if (end > start) {
      const eq = rawQuery.indexOf('=', start);
      const keyEnd = eq === -1 || eq > end ? end : eq;
      let key = decode(rawQuery.slice(start, keyEnd)).toLowerCase();
      if (key.endsWith('[]')) key = key.slice(0, -2);
      const value = keyEnd === end ? '' : decode(rawQuery.slice(keyEnd + 1, end));
      const previous = params.get(key);
      params.set(key, previous === undefined ? value : `${previous},${value}`);
    }
    start = end + 1;
  }
  return params;
}

function decode(text: string): string {
  // Most SDK query values need no decoding at all (hex signatures, digits, keys).
  if (!text.includes('%') && !text.includes('+')) return text;
  const spaced = text.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

export function stringToSign(method: string, path: string, params: ReadonlyMap<string, string>): string {
  return `${method.toUpperCase()}\n${path}\n${signedQuery(params)}`;
}

/** `k=v&…` over every parameter but auth_signature, keys sorted (by UTF-16 code units, as Array#sort). */
function signedQuery(params: ReadonlyMap<string, string>): string {
  const keys: string[] = [];
  for (const key of params.keys()) if (key !== 'auth_signature') keys.push(key);
  // SDKs send their parameters sorted already: then this is one pass of comparisons.
  keys.sort();
  let query = '';
  for (let i = 0; i < keys.length; i++) query += `${i === 0 ? '' : '&'}${keys[i]}=${params.get(keys[i]!)}`;
  return query;
}

export interface SignRequestInput {
  method: string;
  path: string;
  key: string;
  secret: string;
  body?: string;
  query?: Record<string, string>;
  timestamp?: number;
}

/** Returns the full signed query string (values RFC 3986-encoded) for a request. */
export function signRequest(input: SignRequestInput): string {
  const params = new Map<string, string>(Object.entries(input.query ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  params.set('auth_key', input.key);
  params.set('auth_timestamp', String(input.timestamp ?? Math.floor(Date.now() / 1000)));
  params.set('auth_version', '1.0');
  if (input.body !== undefined && input.body !== '') params.set('body_md5', md5Hex(input.body));
  params.set('auth_signature', hmacHex(input.secret, stringToSign(input.method, input.path, params)));
  return [...params].map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
}

export interface VerifyRequestInput {
  method: string;
  /** Request path without the server's prefix, as sent (still percent-encoded). */
  path: string;
  rawQuery: string;
  body: Uint8Array;
  /** The secret of the app named in the path when `key` is one of its keys, else undefined. */
  secretForKey(key: string): string | undefined;
  nowSeconds: number;
}

export type VerifyResult = { ok: true; params: Map<string, string> } | { ok: false; status: 401; message: string };

/** Where the SDK authors' signing algorithm is documented; every refusal points there. */
export const SIGNING_DOC = 'https://pusher.com/docs/channels/library_auth_reference/rest-api/#authentication';

const fail = (message: string): VerifyResult => ({ ok: false, status: 401, message: `${message}; see ${SIGNING_DOC}` });

/** Largest |ms| a Date can hold (ECMA-262 §21.4.1.1): beyond it toISOString throws. */
const MAX_DATE_MS = 8.64e15;

function isoTime(seconds: number): string | undefined {
  const ms = seconds * 1000;
  return Number.isFinite(ms) && Math.abs(ms) <= MAX_DATE_MS ? new Date(ms).toISOString() : undefined;
}

export function verifyRequest(input: VerifyRequestInput): VerifyResult {
  const params = parseQuery(input.rawQuery);
  const version = params.get('auth_version');
  if (version === undefined) return fail('Version required: the query parameter auth_version=1.0 is missing (is the request signed?)');
  if (version !== '1.0') return fail(`Version not supported: auth_version must be 1.0, got ${JSON.stringify(version.slice(0, 20))}`);
  const timestamp = params.get('auth_timestamp');
  if (timestamp === undefined || timestamp === '') return fail('Timestamp required: the query parameter auth_timestamp (Unix seconds) is missing');
  const ts = Number(timestamp);
  if (!Number.isFinite(ts) || Math.abs(input.nowSeconds - ts) >= TIMESTAMP_SKEW_SECONDS) {
    const given = isoTime(ts) ?? JSON.stringify(timestamp.slice(0, 30));
    return fail(
      `Timestamp expired: Given timestamp (${given}) not within ${TIMESTAMP_SKEW_SECONDS}s of server time (${new Date(input.nowSeconds * 1000).toISOString()}); auth_timestamp must be the current Unix time in seconds`,
    );
  }
  const key = params.get('auth_key');
  if (key === undefined || key === '') return fail('Key required: the query parameter auth_key is missing');
  const secret = input.secretForKey(key);
  if (secret === undefined) return fail(`Unknown auth_key: ${JSON.stringify(key.slice(0, 64))} is not a key of this app`);
  const signature = params.get('auth_signature');
  if (signature === undefined || signature === '') return fail('Signature required: the query parameter auth_signature is missing');
  // The body's MD5 is computed, never trusted: a tampered body then fails the signature.
  if (input.body.length > 0) params.set('body_md5', md5Hex(input.body));
  const method = input.method.toUpperCase();
  const query = signedQuery(params);
  if (hmacMatches(secret, `${method}\n${input.path}\n${query}`, signature)) return { ok: true, params };
  // A client may have signed the path before percent-encoding it.
  if (input.path.includes('%') && hmacMatches(secret, `${method}\n${decode(input.path)}\n${query}`, signature)) return { ok: true, params };
  const expected = JSON.stringify(`${method}\n${input.path}\n${query}`).slice(1, -1);
  return fail(`Invalid signature: you should have sent HmacSHA256Hex("${expected}", your_secret_key), but you sent "${signature.slice(0, 128)}"`);
}
