// The keys an app's JWTs are verified with (docs/PROTOCOL.md §14.2): PEM public keys, a JWKS
// file or URL, an HMAC secret. Each key is offered only for its own algorithm family, so an RSA
// public key can never be used as an HMAC secret (algorithm confusion).
import type { KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  importSPKI,
  importX509,
  type JWTHeaderParameters,
  type KeyLike,
} from 'jose';
import { unescapePem } from '../config/env.js';
import type { JwtConfig } from '../config/schema.js';

/** Why a key could not be found; mapped to the 401 message. */
export class KeyLookupError extends Error {}

/** A jwt setting that cannot be used; `field` is its path under `jwt` (['publicKeys', 1]). */
export class JwtSettingError extends Error {
  constructor(
    readonly field: (string | number)[],
    message: string,
  ) {
    super(message);
  }
}

/** Keys a token may be checked against, in order: several when a kid-less token could match more than one. */
export type VerificationKey = KeyLike | Uint8Array;

type JwksLookup = (header: JWTHeaderParameters) => Promise<VerificationKey[]>;

/** The keys of one set of jwt settings; built once and shared by every App object carrying them. */
export interface AppKeys {
  /** Candidate keys for the token's header; throws KeyLookupError when there is none. */
  keysFor(header: JWTHeaderParameters): Promise<VerificationKey[]>;
}

/** Imports one PEM public key (SPKI or X.509 certificate); throws with what was wrong. */
async function importPublicKeyPem(pem: string): Promise<KeyObject> {
  const text = unescapePem(pem);
  // importSPKI/importX509 bind no algorithm on Node; the family is read from the key itself.
  const expected = 'expected a PEM public key ("-----BEGIN PUBLIC KEY-----", SPKI) or certificate ("-----BEGIN CERTIFICATE-----")';
  const importer = text.startsWith('-----BEGIN PUBLIC KEY-----') ? importSPKI : text.startsWith('-----BEGIN CERTIFICATE-----') ? importX509 : undefined;
  if (importer === undefined) throw new Error(`not a PEM public key or certificate; ${expected}`);
  try {
    return (await importer(text, 'RS256')) as KeyObject;
  } catch (error) {
    throw new Error(`cannot parse the PEM (${(error as Error).message}); ${expected}`);
  }
}

/** Whether `alg` may be used with this public key: the key's type (and curve) decide its family. */
function keyFitsAlgorithm(key: KeyObject, alg: string): boolean {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return /^(RS|PS)(256|384|512)$/.test(alg);
    case 'rsa-pss':
      return /^PS(256|384|512)$/.test(alg);
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      return (alg === 'ES256' && curve === 'prime256v1') || (alg === 'ES384' && curve === 'secp384r1');
    }
    case 'ed25519':
    case 'ed448':
      return alg === 'EdDSA';
    default:
      return false;
  }
}

function isHmacAlgorithm(alg: string): boolean {
  return /^HS(256|384|512)$/.test(alg);
}

/** What decides an app's keys: apps from SQL/JSON registries are fresh objects with equal settings. */
export function keySettingsId(jwt: JwtConfig): string {
  return JSON.stringify([jwt.publicKeys, jwt.jwksFile ?? null, jwt.jwksUrl ?? null, jwt.hmacSecret ?? null, jwt.jwksRefetchSeconds]);
}

/** Loads every key the settings name; throws a JwtSettingError naming the setting that failed. */
export async function loadAppKeys(jwt: JwtConfig): Promise<AppKeys> {
  const publicKeys: KeyObject[] = [];
  for (const [index, pem] of jwt.publicKeys.entries()) {
    try {
      publicKeys.push(await importPublicKeyPem(pem));
    } catch (error) {
      throw new JwtSettingError(['publicKeys', index], (error as Error).message);
    }
  }
  const secret = jwt.hmacSecret === undefined ? undefined : new TextEncoder().encode(jwt.hmacSecret);
  const jwksLookups: JwksLookup[] = [];
  if (jwt.jwksFile !== undefined) jwksLookups.push(jwksFileLookup(jwt.jwksFile));
  if (jwt.jwksUrl !== undefined) jwksLookups.push(await jwksUrlLookup(jwt.jwksUrl, jwt.jwksRefetchSeconds));

  return {
    async keysFor(header) {
      const alg = header.alg ?? '';
      const keys: VerificationKey[] = [];
      // A token naming a kid is checked against the JWKS that names its keys, when there is one.
      if (header.kid === undefined || jwksLookups.length === 0) {
        // The secret only for HS*, a PEM key only for its own family.
        if (isHmacAlgorithm(alg)) keys.push(...(secret === undefined ? [] : [secret]));
        else keys.push(...publicKeys.filter((key) => keyFitsAlgorithm(key, alg)));
      }
      // jose's JWKS lookup matches a JWK's kty to the alg the same way (oct for HS*).
      for (const lookup of jwksLookups) keys.push(...(await lookup(header)));
      if (keys.length === 0) throw new KeyLookupError(header.kid === undefined ? `no key for algorithm ${alg}` : 'unknown key id');
      return keys;
    },
  };
}

/** Every key of a jose JWKS function matching the header ([] when none). */
async function matching(jwks: ReturnType<typeof createLocalJWKSet>, header: JWTHeaderParameters): Promise<VerificationKey[]> {
  try {
    return [await jwks(header, undefined as never)];
  } catch (error) {
    if (error instanceof errors.JWKSNoMatchingKey) return [];
    if (error instanceof errors.JWKSMultipleMatchingKeys) {
      const keys: VerificationKey[] = [];
      for await (const key of error as unknown as AsyncIterable<KeyLike>) keys.push(key);
      return keys;
    }
    throw error;
  }
}

function readJwksFile(file: string): ReturnType<typeof createLocalJWKSet> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new JwtSettingError(['jwksFile'], `cannot read ${file} (${code === 'ENOENT' ? 'no such file' : (error as Error).message}); expected a JSON file {"keys": [...]}`);
  }
  try {
    return createLocalJWKSet(json as Parameters<typeof createLocalJWKSet>[0]);
  } catch (error) {
    throw new JwtSettingError(['jwksFile'], `${file} is not a JWKS (${(error as Error).message}); expected {"keys": [...]}`);
  }
}

/** How often a lookup may stat the JWKS file to see whether it changed. */
const JWKS_FILE_CHECK_MS = 1000;

/**
 * A JWKS file, read at start and again once it changed (its mtime and size): every lookup
 * re-checks that stamp at most once per second, so a removed key stops verifying within a
 * second, and a token naming a key the keys lack re-checks it at once (rotation without a
 * restart). Unknown kids cost one stat, not a parse.
 */
function jwksFileLookup(file: string): JwksLookup {
  const stamp = (): string => {
    const stats = statSync(file, { throwIfNoEntry: false });
    return stats === undefined ? 'missing' : `${stats.mtimeMs}:${stats.size}`;
  };
  let readStamp = stamp();
  let jwks = readJwksFile(file);
  let checkedAt = Date.now();
  const reloadIfChanged = (): void => {
    checkedAt = Date.now();
    const now = stamp();
    if (now === readStamp) return;
    readStamp = now;
    try {
      jwks = readJwksFile(file);
    } catch {
      // A half-written or removed file keeps the keys read last.
    }
  };
  return async (header) => {
    if (Date.now() - checkedAt >= JWKS_FILE_CHECK_MS) reloadIfChanged();
    const keys = await matching(jwks, header);
    if (keys.length > 0) return keys;
    const before = jwks;
    reloadIfChanged();
    return jwks === before ? [] : matching(jwks, header);
  };
}

/**
 * A JWKS URL through jose's remote set: fetched at start (so a bad URL fails startup), cached (and
 * refetched after jose's 10 minutes, so a removed key goes), refetched when a token names an
 * unknown kid at most once per `refetchSeconds`. While the URL fails, the keys fetched last keep
 * verifying and the URL is asked again only after `refetchSeconds`, not once per token.
 */
async function jwksUrlLookup(url: string, refetchSeconds: number): Promise<JwksLookup> {
  const cooldownMs = refetchSeconds * 1000;
  const jwks = createRemoteJWKSet(new URL(url), { cooldownDuration: cooldownMs, timeoutDuration: 5000 });
  try {
    await jwks.reload();
  } catch (error) {
    throw new JwtSettingError(['jwksUrl'], `cannot load a JWKS from ${url} (${(error as Error).message}); expected a reachable URL answering {"keys": [...]}`);
  }
  let failedAt: number | undefined;
  const lastFetched = (header: JWTHeaderParameters) => {
    const last = jwks.jwks();
    return last === undefined ? Promise.resolve([]) : matching(createLocalJWKSet(last), header);
  };
  return async (header) => {
    if (failedAt !== undefined && Date.now() - failedAt < cooldownMs) return lastFetched(header);
    try {
      const keys = await matching(jwks as unknown as ReturnType<typeof createLocalJWKSet>, header);
      failedAt = undefined;
      return keys;
    } catch {
      failedAt = Date.now();
      return lastFetched(header);
    }
  };
}
