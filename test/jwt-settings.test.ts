// JWT settings at start (docs/PROTOCOL.md §14): every app not in `hmac` mode has its keys, rules
// file and resolver loaded before the server listens; anything unusable stops the start with the
// setting named as the operator wrote it, the problem and what is allowed. The env rows of the
// env app, PEMs escaped as Laravel's .env holds them.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config/load.js';
import { freePort, runCli, untilListening } from './support/cli-process.js';
import { RawClient, startTestServer } from './support/in-process.js';
import { keyPair, refusal, subscribeRaw, type KeyPair } from './support/jwt-clients.js';
import { JWT_APP, jwtApp, mintToken } from './support/jwt.js';
import { scratchDir } from './support/scratch.js';

const fixture = (name: string) => join(import.meta.dirname, 'fixtures', name);
const ENV_APP = { BROADCASTY_APP_ID: 'env-app', BROADCASTY_APP_KEY: 'env-key', BROADCASTY_APP_SECRET: 'env-secret' };

/** The ConfigError message a start with these apps stops with. */
async function startError(apps: object[]): Promise<string> {
  const error = await startTestServer({ apps }).then(
    async (server) => {
      await server.shutdown();
      return undefined;
    },
    (thrown: unknown) => thrown,
  );
  assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
  return error.message;
}

describe('JWT settings', () => {
  let rsa: KeyPair;
  let dir: string;
  let notJwks: ReturnType<typeof createServer>;
  let notJwksUrl: string;

  before(async () => {
    rsa = await keyPair('RS256');
    dir = scratchDir('jwt-settings');
    notJwks = createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>'));
    await new Promise<void>((resolve) => notJwks.listen(0, '127.0.0.1', resolve));
    notJwksUrl = `http://127.0.0.1:${(notJwks.address() as AddressInfo).port}/jwks.json`;
  });

  after(() => new Promise<void>((resolve) => notJwks.close(() => resolve())));

  it('stops the start on an unparseable PEM, naming the key by its place', async () => {
    const message = await startError([jwtApp({}, { publicKeys: [rsa.publicPem, '-----BEGIN PUBLIC KEY-----\nnot base64 at all\n-----END PUBLIC KEY-----'] })]);
    assert.match(message, /^Invalid setting apps\[0\]\.jwt\.publicKeys\[1\]: cannot parse the PEM \(.+\); expected a PEM public key/);
    const notPem = await startError([jwtApp({}, { publicKeys: ['ssh-rsa AAAAB3NzaC1yc2E'] })]);
    assert.match(notPem, /^Invalid setting apps\[0\]\.jwt\.publicKeys\[0\]: not a PEM public key or certificate; expected/);
  });

  it('stops the start on an unreadable JWKS file, an unreachable JWKS URL or one that serves no JWKS', async () => {
    const missing = join(dir, 'missing.json');
    assert.match(await startError([jwtApp({}, { jwksFile: missing })]), new RegExp(`^Invalid setting apps\\[0\\]\\.jwt\\.jwksFile: cannot read ${missing} \\(no such file\\); expected`));
    const garbled = join(dir, 'garbled.json');
    writeFileSync(garbled, '{"keys": "none"}');
    assert.match(await startError([jwtApp({}, { jwksFile: garbled })]), /^Invalid setting apps\[0\]\.jwt\.jwksFile: .*garbled\.json is not a JWKS/);
    const closed = `http://127.0.0.1:${await freePort()}/jwks.json`;
    assert.match(await startError([jwtApp({}, { jwksUrl: closed })]), /^Invalid setting apps\[0\]\.jwt\.jwksUrl: cannot load a JWKS from http:\/\/127\.0\.0\.1:\d+\/jwks\.json \(.+\); expected a reachable URL/);
    assert.match(await startError([jwtApp({}, { jwksUrl: notJwksUrl })]), /^Invalid setting apps\[0\]\.jwt\.jwksUrl: cannot load a JWKS from/);
  });

  it('stops the start on an unreadable or invalid rules file and on a resolver that fails to import or lacks authorize', async () => {
    const rules = join(dir, 'rules.json');
    writeFileSync(rules, JSON.stringify({ rules: [{ channel: 'private-*', actions: ['read'], roles: ['*'] }] }));
    const messages = [
      await startError([jwtApp({}, { rulesFile: join(dir, 'no-rules.json') })]),
      await startError([jwtApp({}, { rulesFile: rules })]),
      await startError([jwtApp({}, { resolver: fixture('no-such-resolver.mjs') })]),
      await startError([jwtApp({}, { resolver: fixture('jwt-resolver-without-authorize.mjs') })]),
    ];
    assert.match(messages[0], /^Invalid setting apps\[0\]\.jwt\.rulesFile: cannot read .*no-rules\.json \(no such file\); expected a JSON file \{"rules"/);
    assert.match(messages[1], /^Invalid setting apps\[0\]\.jwt\.rulesFile: .*rules\.json: rules\.0\.actions\.0 .*expected \{"rules"/);
    assert.match(messages[2], /^Invalid setting apps\[0\]\.jwt\.resolver: cannot use .*no-such-resolver\.mjs: .*expected a JS module exporting authorize/);
    assert.match(messages[3], /^Invalid setting apps\[0\]\.jwt\.resolver: cannot use .*: the module exports no authorize\(tenant, channel, userId, roles, action\) function/);
  });

  it('leaves hmac apps alone: their jwt settings are not loaded', async () => {
    const server = await startTestServer({ apps: [{ ...JWT_APP, authMode: 'hmac', jwt: { publicKeys: ['not a key'] } }] });
    await server.shutdown();
  });

  it('reads the env rows of the env app, unescaping a one-line PEM', () => {
    const config = loadConfig({
      env: {
        ...ENV_APP,
        BROADCASTY_AUTH_MODE: 'both',
        BROADCASTY_JWT_PUBLIC_KEY: rsa.publicPem.trim().replace(/\n/g, '\\n'),
        BROADCASTY_JWT_JWKS_URL: 'https://idp.example/jwks.json',
        BROADCASTY_JWT_JWKS_FILE: '/etc/jwks.json',
        BROADCASTY_JWT_SECRET: 'x'.repeat(32),
        BROADCASTY_JWT_ALGORITHMS: 'RS256, HS256',
        BROADCASTY_JWT_ISSUER: 'https://idp.example',
        BROADCASTY_JWT_AUDIENCE: 'broadcasty',
        BROADCASTY_JWT_CLOCK_SKEW: '10',
        BROADCASTY_JWT_USER_INFO_CLAIM: 'profile',
        BROADCASTY_JWT_SHARED_CHANNELS: 'status,private-shared.*',
        BROADCASTY_JWT_RULES_FILE: '/etc/rules.json',
        BROADCASTY_JWT_RESOLVER: '/srv/resolver.mjs',
        BROADCASTY_PRESENCE_TTL: '90',
        BROADCASTY_JWT_REQUIRE_NONCE: 'false',
      },
    });
    const app = config.apps.find((a) => a.id === 'env-app')!;
    assert.equal(app.authMode, 'both');
    assert.deepEqual(app.jwt.publicKeys, [rsa.publicPem.trim()]);
    assert.deepEqual(
      [app.jwt.jwksUrl, app.jwt.jwksFile, app.jwt.hmacSecret, app.jwt.algorithms, app.jwt.issuer, app.jwt.audience, app.jwt.clockSkewSeconds],
      ['https://idp.example/jwks.json', '/etc/jwks.json', 'x'.repeat(32), ['RS256', 'HS256'], 'https://idp.example', 'broadcasty', 10],
    );
    assert.deepEqual(
      [app.jwt.userInfoClaim, app.jwt.sharedChannels, app.jwt.rulesFile, app.jwt.resolver, app.jwt.presenceTtlSeconds, app.jwt.requireNonce],
      ['profile', ['status', 'private-shared.*'], '/etc/rules.json', '/srv/resolver.mjs', 90, false],
    );
    assert.throws(() => loadConfig({ env: { ...ENV_APP, BROADCASTY_AUTH_MODE: 'jwt', BROADCASTY_JWT_SECRET: 'x'.repeat(32), BROADCASTY_JWT_ALGORITHMS: 'none' } }), /Invalid setting BROADCASTY_JWT_ALGORITHMS/);
  });

  it('CLI: a bad BROADCASTY_JWT_PUBLIC_KEY stops the start (exit 2) naming the env setting', async () => {
    const cli = runCli(['start', '--port', String(await freePort())], { ...ENV_APP, BROADCASTY_AUTH_MODE: 'jwt', BROADCASTY_JWT_PUBLIC_KEY: 'not-a-key' });
    assert.equal(await cli.exited, 2);
    assert.match(cli.stderr(), /Invalid setting BROADCASTY_JWT_PUBLIC_KEY: not a PEM public key or certificate; expected a PEM public key/);
  });

  it('CLI: a Laravel-style one-line PEM in the env verifies RS256 tokens', async () => {
    const port = await freePort();
    const cli = runCli(['start', '--port', String(port), '--host', '127.0.0.1'], {
      ...ENV_APP,
      BROADCASTY_AUTH_MODE: 'jwt',
      BROADCASTY_JWT_PUBLIC_KEY: rsa.publicPem.trim().replace(/\n/g, '\\n'),
    });
    try {
      await untilListening(cli);
      const client = await RawClient.connect(port, ENV_APP.BROADCASTY_APP_KEY);
      await client.established();
      const token = await mintToken({}, { key: rsa.privateKey, alg: 'RS256' });
      assert.equal(refusal(await subscribeRaw(client, 'private-tenant.acme.orders', token)), undefined);
      client.close();
    } finally {
      cli.child.kill('SIGTERM');
      await cli.exited;
    }
  });
});
