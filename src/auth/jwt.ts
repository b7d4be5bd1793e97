// JWT verification (docs/PROTOCOL.md §14.2): jose checks the signature and the registered claims,
// this module picks the keys, maps jose's errors to the messages clients see, and checks the
// claim shapes, `iat` ahead of the clock and revocation. Tokens are never logged.
import { decodeProtectedHeader, errors, jwtVerify, type JWTHeaderParameters, type JWTPayload } from 'jose';
import type { App } from '../apps/registry.js';
import type { JwtConfig } from '../config/schema.js';
import type { TokenGuards } from '../engine/types.js';
import { KeyLookupError, keySettingsId, loadAppKeys, type AppKeys } from './jwt-keys.js';
import type { Principal, TokenCheck } from './types.js';

/** Three base64url parts joined by `.` (§14.1 `both`: a JWT rather than a Pusher `key:hex`). */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export function looksLikeJwt(auth: string): boolean {
  return JWT_SHAPE.test(auth);
}

const TENANT_ID = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_SUB_LENGTH = 128;
/** Distinct key settings kept loaded; registries hand out fresh App objects with equal settings. */
const MAX_CACHED_KEY_SETS = 1000;

/** A failed load (an app from a registry whose JWKS URL is down) is retried after this, not per token. */
const RETRY_FAILED_LOAD_MS = 5000;

const keySets = new Map<string, { keys: Promise<AppKeys>; failedAt?: number }>();

/** Settings ids per settings object, so a token costs no JSON of the PEMs while the App lives. */
const settingsIds = new WeakMap<JwtConfig, string>();

/** The app's keys, loaded once per distinct settings. */
export function appKeys(jwt: JwtConfig): Promise<AppKeys> {
  let id = settingsIds.get(jwt);
  if (id === undefined) settingsIds.set(jwt, (id = keySettingsId(jwt)));
  let entry = keySets.get(id);
  if (entry === undefined || (entry.failedAt !== undefined && Date.now() - entry.failedAt >= RETRY_FAILED_LOAD_MS)) {
    if (entry === undefined && keySets.size >= MAX_CACHED_KEY_SETS) keySets.delete(keySets.keys().next().value as string);
    const loading: { keys: Promise<AppKeys>; failedAt?: number } = { keys: loadAppKeys(jwt) };
    loading.keys.catch(() => (loading.failedAt = Date.now()));
    keySets.set(id, (entry = loading));
  }
  return entry.keys;
}

/** A principal's user info (§14.2): the app's `jwt.userInfoClaim` claim, null when absent. */
export function userInfoOf(jwt: JwtConfig, principal: Principal): unknown {
  return Object.hasOwn(principal.claims, jwt.userInfoClaim) ? principal.claims[jwt.userInfoClaim] : null;
}

export async function verifyJwt(guards: TokenGuards, app: App, token: string): Promise<TokenCheck> {
  const jwt = app.jwt;
  let header: JWTHeaderParameters;
  try {
    header = decodeProtectedHeader(token) as JWTHeaderParameters;
  } catch {
    return { ok: false, message: 'malformed token' };
  }
  const alg = typeof header.alg === 'string' ? header.alg : 'none';
  if (!(jwt.algorithms as string[]).includes(alg)) return { ok: false, message: `algorithm ${alg} not allowed` };

  let candidates;
  try {
    candidates = await (await appKeys(jwt)).keysFor(header);
  } catch (error) {
    if (error instanceof KeyLookupError) return { ok: false, message: error.message };
    return { ok: false, message: 'key set unavailable' };
  }
  let payload: JWTPayload | undefined;
  let failure = 'signature verification failed';
  for (const key of candidates) {
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms: [alg],
        issuer: jwt.issuer,
        audience: jwt.audience,
        requiredClaims: jwt.requiredClaims,
        clockTolerance: jwt.clockSkewSeconds,
      }));
      break;
    } catch (error) {
      failure = joseFailure(error);
      // Another candidate may hold the signing key; any other failure is the token's own.
      if (failure !== 'signature verification failed') return { ok: false, message: failure };
    }
  }
  if (payload === undefined) return { ok: false, message: failure };

  const shape = principalOf(payload, jwt.clockSkewSeconds);
  if (!shape.ok) return shape;
  if (shape.principal.jti !== undefined && (await guards.isRevoked(app.id, shape.principal.jti))) return { ok: false, message: 'token revoked' };
  return shape;
}

function joseFailure(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return `missing claim ${error.claim}`;
    switch (error.claim) {
      case 'nbf':
        return 'token not yet valid';
      case 'iss':
        return 'unexpected issuer';
      case 'aud':
        return 'unexpected audience';
      default:
        return `invalid claim ${error.claim}`;
    }
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'signature verification failed';
  // A key of the right family the signature cannot use (an EC key of another curve, a short secret).
  if (error instanceof TypeError || error instanceof errors.JOSENotSupported) return 'signature verification failed';
  return 'malformed token';
}

/** The claim shapes of §14.2, and an `iat` no further ahead than the allowed skew. */
function principalOf(payload: JWTPayload, skewSeconds: number): TokenCheck {
  const { sub, tid, roles, iat, exp, jti } = payload as JWTPayload & { tid?: unknown; roles?: unknown };
  if (iat !== undefined && iat > Date.now() / 1000 + skewSeconds) return { ok: false, message: 'token issued in the future' };
  if (sub === undefined) return { ok: false, message: 'missing claim sub' };
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_SUB_LENGTH) {
    return { ok: false, message: `invalid claim sub: expected a non-empty string of at most ${MAX_SUB_LENGTH} characters` };
  }
  if (tid !== undefined && (typeof tid !== 'string' || !TENANT_ID.test(tid))) {
    return { ok: false, message: 'invalid claim tid: expected 1-64 letters, digits, _ or -' };
  }
  if (roles !== undefined && (!Array.isArray(roles) || !roles.every((role) => typeof role === 'string'))) {
    return { ok: false, message: 'invalid claim roles: expected an array of strings' };
  }
  if (jti !== undefined && typeof jti !== 'string') return { ok: false, message: 'invalid claim jti: expected a string' };
  const principal: Principal = {
    userId: sub,
    // No tid (only when the operator dropped it from requiredClaims): a principal of no tenant.
    tenant: (tid as string | undefined) ?? '',
    roles: (roles as string[] | undefined) ?? [],
    claims: payload,
    expiresAtMs: exp === undefined ? undefined : exp * 1000,
    jti,
  };
  return { ok: true, principal };
}
