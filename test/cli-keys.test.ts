// `broadcasty keygen` and `broadcasty token`: what they print must be usable as is — keygen's
// lines as a .env the server loads, token's JWT verified by jose with the secret or key it names.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeProtectedHeader, exportPKCS8, exportSPKI, generateKeyPair, importSPKI, jwtVerify } from 'jose';
import { parseDotenv } from '../src/config/dotenv.js';
import { loadSetup } from '../src/config/load.js';
import { cliInProcess } from './support/cli-process.js';
import { JWT_SECRET } from './support/jwt.js';
import { scratchDir } from './support/scratch.js';

const secretBytes = (secret: string) => new TextEncoder().encode(secret);

function configFile(settings: object): string {
  const file = join(scratchDir('cli-keys'), 'config.json');
  writeFileSync(file, JSON.stringify(settings));
  return file;
}

describe('broadcasty keygen', () => {
  it('prints app credentials and an admin token as .env lines the server accepts', async () => {
    const result = await cliInProcess(['keygen']);
    assert.equal(result.code, 0, result.stderr);
    const env = parseDotenv(result.stdout);
    assert.deepEqual(Object.keys(env), ['BROADCASTY_APP_ID', 'BROADCASTY_APP_KEY', 'BROADCASTY_APP_SECRET', 'BROADCASTY_ADMIN_TOKEN']);
    assert.match(env.BROADCASTY_APP_ID!, /^\d{6,7}$/);
    assert.match(env.BROADCASTY_APP_KEY!, /^[a-z0-9]{20}$/);
    assert.match(env.BROADCASTY_APP_SECRET!, /^[a-z0-9]{20,}$/);
    assert.match(env.BROADCASTY_ADMIN_TOKEN!, /^[A-Za-z0-9_-]{32,}$/);
    const { config } = loadSetup({ env });
    assert.deepEqual(
      { id: config.apps[0]!.id, key: config.apps[0]!.key, secret: config.apps[0]!.secret, adminToken: config.adminToken },
      { id: env.BROADCASTY_APP_ID, key: env.BROADCASTY_APP_KEY, secret: env.BROADCASTY_APP_SECRET, adminToken: env.BROADCASTY_ADMIN_TOKEN },
    );
    const again = parseDotenv((await cliInProcess(['keygen'])).stdout);
    assert.notEqual(again.BROADCASTY_APP_SECRET, env.BROADCASTY_APP_SECRET);
  });

  it('--json prints the same names as one object; --vapid the Web Push pair', async () => {
    const json = JSON.parse((await cliInProcess(['keygen', '--json'])).stdout);
    assert.deepEqual(Object.keys(json), ['BROADCASTY_APP_ID', 'BROADCASTY_APP_KEY', 'BROADCASTY_APP_SECRET', 'BROADCASTY_ADMIN_TOKEN']);
    const vapid = parseDotenv((await cliInProcess(['keygen', '--vapid'])).stdout);
    assert.deepEqual(Object.keys(vapid), ['BROADCASTY_PUSH_VAPID_PUBLIC_KEY', 'BROADCASTY_PUSH_VAPID_PRIVATE_KEY']);
  });
});

describe('broadcasty token', () => {
  const jwtAppConfig = configFile({
    apps: [{ id: 'jwt-app', key: 'jwt-key', secret: 'jwt-secret', authMode: 'jwt', jwt: { hmacSecret: JWT_SECRET, issuer: 'https://auth.example', audience: 'broadcasty' } }],
  });

  it("signs with the app's jwt.hmacSecret, with its issuer and audience, the claims given and exp = iat + ttl", async () => {
    const result = await cliInProcess(['token', '--sub', '42', '--tid', 'acme', '--roles', 'member,editor', '--ttl', '600', '--claim', 'user_info={"name":"Ada"}', '--claim', 'plan=pro', '--config', jwtAppConfig]);
    assert.equal(result.code, 0, result.stderr);
    const token = result.stdout.trim();
    const { payload, protectedHeader } = await jwtVerify(token, secretBytes(JWT_SECRET), { issuer: 'https://auth.example', audience: 'broadcasty' });
    assert.equal(protectedHeader.alg, 'HS256');
    assert.deepEqual({ ...payload, iat: undefined, exp: undefined }, { sub: '42', tid: 'acme', roles: ['member', 'editor'], user_info: { name: 'Ada' }, plan: 'pro', iss: 'https://auth.example', aud: 'broadcasty', iat: undefined, exp: undefined });
    assert.equal(payload.exp! - payload.iat!, 600);
  });

  it('--secret needs no settings; --json prints the token and its claims', async () => {
    const secret = 'another-secret-of-at-least-32-bytes!!';
    const result = await cliInProcess(['token', '--sub', 'u1', '--secret', secret, '--alg', 'HS512', '--json', '--config', configFile({})]);
    assert.equal(result.code, 0, result.stderr);
    const { token, claims } = JSON.parse(result.stdout);
    const { payload } = await jwtVerify(token, secretBytes(secret), { algorithms: ['HS512'] });
    assert.deepEqual(payload, claims);
    assert.equal(claims.exp - claims.iat, 3600);
  });

  it('--key signs with a PKCS#8 private key and --alg (ES256, EdDSA)', async () => {
    for (const alg of ['ES256', 'EdDSA']) {
      const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
      const keyFile = join(scratchDir('cli-keys'), `${alg}.pem`);
      writeFileSync(keyFile, await exportPKCS8(privateKey));
      const result = await cliInProcess(['token', '--sub', 'u2', '--key', keyFile, '--alg', alg, '--config', configFile({})]);
      assert.equal(result.code, 0, result.stderr);
      const token = result.stdout.trim();
      assert.equal(decodeProtectedHeader(token).alg, alg);
      const { payload } = await jwtVerify(token, await importSPKI(await exportSPKI(publicKey), alg));
      assert.equal(payload.sub, 'u2');
    }
  });

  it('refuses what it cannot sign with exit 2 and a reason', async () => {
    const noSecret = configFile({ apps: [{ id: 'a', key: 'k', secret: 's' }] });
    const cases: [string[], RegExp][] = [
      [['token', '--config', jwtAppConfig], /^token needs --sub/],
      [['token', '--sub', 'u', '--config', noSecret], /^no secret to sign with: pass --secret, or set the app's jwt\.hmacSecret \(BROADCASTY_JWT_SECRET\)/],
      [['token', '--sub', 'u', '--alg', 'RS256', '--config', jwtAppConfig], /^--alg RS256 needs a private key: --key FILE/],
      [['token', '--sub', 'u', '--alg', 'none', '--config', jwtAppConfig], /^--alg must be one of RS256/],
      [['token', '--sub', 'u', '--ttl', '1h', '--config', jwtAppConfig], /^--ttl must be a positive number of seconds/],
      [['token', '--sub', 'u', '--key', '/nonexistent.pem', '--alg', 'ES256', '--config', jwtAppConfig], /^--key: cannot read \/nonexistent\.pem/],
    ];
    for (const [args, message] of cases) {
      const result = await cliInProcess(args);
      assert.equal(result.code, 2, args.join(' '));
      assert.match(result.stderr, message);
      assert.equal(result.stdout, '');
    }
  });
});
