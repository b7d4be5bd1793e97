// JWT apps and tokens for tests (docs/PROTOCOL.md §14): an app in jwt mode with an HS256 secret,
// tokens minted with jose (claims §14.2 requires, overridable), and a client for the
// /broadcasty/* endpoints that sends the bearer token, the nonce and the timestamp (§14.5, §14.6).
import { randomBytes } from 'node:crypto';
import { SignJWT, type JWTPayload, type KeyLike } from 'jose';

export const JWT_SECRET = 'test-jwt-secret-of-at-least-32-bytes!';
const SECRET_BYTES = new TextEncoder().encode(JWT_SECRET);

export const JWT_APP = { id: 'jwt-app', key: 'jwt-key', secret: 'jwt-secret' };

/** An app config in jwt mode verifying HS256 tokens signed with JWT_SECRET; `jwt` overrides merge in. */
export function jwtApp(settings: Record<string, unknown> = {}, jwt: Record<string, unknown> = {}, app = JWT_APP) {
  return { ...app, authMode: 'jwt', ...settings, jwt: { hmacSecret: JWT_SECRET, ...jwt } };
}

export interface Claims extends JWTPayload {
  sub?: string;
  tid?: string;
  roles?: string[];
}

export interface MintOptions {
  /** Seconds from now; negative for an expired token. Default 300. */
  expiresIn?: number;
  /** Seconds from now of `iat`. Default 0. */
  issuedAt?: number;
  secret?: Uint8Array;
  /** A private key to sign with `alg` instead of the HS256 secret. */
  key?: KeyLike;
  alg?: string;
  kid?: string;
}

/** A token (HS256 unless `key` and `alg` say otherwise) with `sub`, `tid`, `roles`, `iat`, `exp` (any overridden or dropped with undefined). */
export function mintToken(claims: Claims = {}, { expiresIn = 300, issuedAt = 0, secret = SECRET_BYTES, key, alg = 'HS256', kid }: MintOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: Claims = { sub: 'user-1', tid: 'acme', roles: ['member'], iat: now + issuedAt, exp: now + expiresIn, ...claims };
  for (const key of Object.keys(payload)) if (payload[key] === undefined) delete payload[key];
  return new SignJWT(payload).setProtectedHeader(kid === undefined ? { alg } : { alg, kid }).sign(key ?? secret);
}

/** The anti-replay headers of a POST (§14.6): a fresh nonce and the current Unix time. */
export function replayHeaders(nonce = randomBytes(12).toString('base64url'), timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  return { 'X-Broadcasty-Nonce': nonce, 'X-Broadcasty-Timestamp': String(timestamp) };
}

export interface BroadcastyReply {
  status: number;
  body: Record<string, unknown>;
  text: string;
  headers: Headers;
}

export interface BroadcastyCall {
  token?: string;
  body?: unknown;
  /** Query parameters besides `app`. */
  query?: Record<string, string>;
  /** Replaces the nonce and timestamp headers a POST gets by default. */
  headers?: Record<string, string>;
  appKey?: string;
}

/** A /broadcasty/* request as a browser or mobile client sends it; POSTs and DELETEs get fresh anti-replay headers. */
export async function broadcasty(port: number, method: 'GET' | 'POST' | 'DELETE' | 'OPTIONS', endpoint: string, call: BroadcastyCall = {}): Promise<BroadcastyReply> {
  const { token, body, query = {}, appKey = JWT_APP.key } = call;
  const search = new URLSearchParams({ app: appKey, ...query }).toString();
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(call.headers ?? (method === 'POST' || method === 'DELETE' ? replayHeaders() : {})) };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`http://127.0.0.1:${port}/broadcasty/${endpoint}?${search}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
  } catch {
    parsed = { unparsed: text };
  }
  return { status: response.status, body: parsed, text, headers: response.headers };
}
