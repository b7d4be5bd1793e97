// `broadcasty token`: a development JWT (docs/PROTOCOL.md §14.2) signed with jose, by default with
// the app's jwt.hmacSecret, carrying the app's issuer and audience when it requires them.
import { readFileSync } from 'node:fs';
import { importPKCS8, SignJWT, type JWTPayload, type KeyLike } from 'jose';
import { JWT_ALGORITHMS } from '../config/schema.js';
import { CONFIG_HELP, CONFIG_OPTIONS, EXIT, print, UsageError, type Command, type Values } from './command.js';
import { loadSettings, resolveApp } from './target.js';

const SECRET_ALGORITHMS = new Set(['HS256', 'HS384', 'HS512']);

/** `--claim k=v`: the value as JSON when it parses (numbers, lists, objects), else the text. */
function claimValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function positiveSeconds(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) === 0) throw new UsageError(`--ttl must be a positive number of seconds, got ${JSON.stringify(text)}`);
  return Number(text);
}

async function claims(values: Values, defaults: JWTPayload): Promise<JWTPayload> {
  const now = Math.floor(Date.now() / 1000);
  const payload: JWTPayload = { ...defaults, sub: values.sub as string, iat: now, exp: now + positiveSeconds((values.ttl as string | undefined) ?? '3600') };
  if (values.tid !== undefined) payload.tid = values.tid;
  if (values.roles !== undefined) payload.roles = (values.roles as string).split(',').filter((role) => role !== '');
  for (const pair of (values.claim as string[] | undefined) ?? []) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new UsageError(`--claim takes name=value, got ${JSON.stringify(pair)}`);
    payload[pair.slice(0, eq)] = claimValue(pair.slice(eq + 1));
  }
  return payload;
}

/** The key and algorithm: --key FILE with --alg, --secret, or the app's jwt.hmacSecret. */
async function signingKey(values: Values, appSecret: string | undefined): Promise<{ key: Uint8Array | KeyLike; alg: string }> {
  const alg = (values.alg as string | undefined) ?? (values.key === undefined ? 'HS256' : undefined);
  if (alg === undefined) throw new UsageError('--key needs --alg: RS256, ES256, EdDSA, …');
  if (!(JWT_ALGORITHMS as readonly string[]).includes(alg)) throw new UsageError(`--alg must be one of ${JWT_ALGORITHMS.join(', ')}, got ${JSON.stringify(alg)}`);
  if (values.key !== undefined) {
    if (SECRET_ALGORITHMS.has(alg)) throw new UsageError(`--alg ${alg} signs with a secret (--secret), not a key file`);
    let pem: string;
    try {
      pem = readFileSync(values.key as string, 'utf8');
    } catch (error) {
      throw new UsageError(`--key: cannot read ${values.key as string} (${(error as Error).message})`);
    }
    try {
      return { key: await importPKCS8(pem, alg), alg };
    } catch (error) {
      throw new UsageError(`--key: ${values.key as string} is not a PKCS#8 PEM private key for ${alg} (${(error as Error).message})`);
    }
  }
  if (!SECRET_ALGORITHMS.has(alg)) throw new UsageError(`--alg ${alg} needs a private key: --key FILE`);
  const secret = (values.secret as string | undefined) ?? appSecret;
  if (secret === undefined) throw new UsageError("no secret to sign with: pass --secret, or set the app's jwt.hmacSecret (BROADCASTY_JWT_SECRET)");
  return { key: new TextEncoder().encode(secret), alg };
}

export const token: Command = {
  name: 'token',
  summary: 'print a development JWT with the given claims (sub, tid, roles, iat, exp, any --claim)',
  usage: 'broadcasty token --sub S [--tid T] [--roles A,B] [--ttl 3600] [--claim k=v …] [--secret S | --key FILE --alg ALG] [options]',
  details: `Signs with the app's jwt.hmacSecret (HS256) unless --secret or --key says otherwise, and sets
the app's jwt.issuer and jwt.audience when it has them.
Example: broadcasty token --sub 42 --tid acme --roles member,editor --claim user_info='{"name":"Ada"}'

Options:
  --sub S            the user (required)
  --tid T            the tenant
  --roles A,B        the roles
  --ttl N            seconds until it expires (default 3600)
  --claim k=v        any other claim; v is parsed as JSON when it can be (repeatable)
  --secret S         HMAC secret (HS256/384/512)
  --key FILE         PKCS#8 PEM private key, with --alg (RS256, PS256, ES256, EdDSA, …)
  --alg ALG          the algorithm (default HS256)
${CONFIG_HELP}`,
  options: {
    ...CONFIG_OPTIONS,
    sub: { type: 'string' },
    tid: { type: 'string' },
    roles: { type: 'string' },
    ttl: { type: 'string' },
    claim: { type: 'string', multiple: true },
    secret: { type: 'string' },
    key: { type: 'string' },
    alg: { type: 'string' },
  },
  positionals: [0, 0],
  async run(values) {
    if (values.sub === undefined) throw new UsageError('token needs --sub: the user the token is for');
    if (values.secret !== undefined && values.key !== undefined) throw new UsageError('--secret and --key exclude each other');
    // The settings matter only for what they add: with --secret or --key and no app, none are needed.
    const needsApp = (values.secret === undefined && values.key === undefined) || values.app !== undefined;
    const jwt = needsApp ? (await resolveApp(values, loadSettings(values))).jwt : undefined;
    const { key, alg } = await signingKey(values, jwt?.hmacSecret);
    const defaults: JWTPayload = { ...(jwt?.issuer === undefined ? {} : { iss: jwt.issuer }), ...(jwt?.audience === undefined ? {} : { aud: jwt.audience }) };
    const payload = await claims(values, defaults);
    const signed = await new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT' }).sign(key);
    print(values, { token: signed, claims: payload }, () => signed);
    return EXIT.ok;
  },
};
