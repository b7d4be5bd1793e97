// JWTs on the Pusher protocol (docs/PROTOCOL.md §14.1, §14.2), attacks first: every forged,
// stale or misdirected token is refused with 401 and the check that failed, on raw frames and
// through stock pusher-js; keys rotate without a restart; expiry closes with 4203 and pusher-js
// comes back with fresh tokens; ?token= and JWT signin; Echo presence from the claims.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Echo from 'laravel-echo';
import type { RunningServer } from '../src/server.js';
import { APP, sdk } from './support/cluster.js';
import { RawClient, startTestServer } from './support/in-process.js';
import { JwksServer, jwtPusher, keyPair, refusal, subscribeRaw, type KeyPair } from './support/jwt-clients.js';
import { jwtApp, mintToken, type Claims, type MintOptions } from './support/jwt.js';
import { scratchDir } from './support/scratch.js';

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'broadcasty';
const RSA_APP = { id: 'rsa-app', key: 'rsa-key', secret: 'rsa-secret' };
const JWKS_APP = { id: 'jwks-app', key: 'jwks-key', secret: 'jwks-secret' };
const FILE_APP = { id: 'file-app', key: 'file-key', secret: 'file-secret' };
const SHORT_APP = { id: 'short-app', key: 'short-key', secret: 'short-secret' };
const ORDERS = 'private-tenant.acme.orders';
const ROOM = 'presence-tenant.acme.room';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

describe('JWT tokens on the Pusher protocol', () => {
  let server: RunningServer;
  let port: number;
  let rsa: KeyPair;
  let first: KeyPair;
  let second: KeyPair;
  let jwks: JwksServer;
  let jwksFile: string;
  let rsaSocket: RawClient;
  const sockets: RawClient[] = [];
  let channelCount = 0;

  /** An RS256 token the RSA app accepts, unless claims or options spoil it. */
  const rsaToken = (claims: Claims = {}, options: MintOptions = {}) => mintToken({ iss: ISSUER, aud: AUDIENCE, ...claims }, { key: rsa.privateKey, alg: 'RS256', ...options });

  async function socket(appKey: string, query?: string): Promise<RawClient> {
    const client = await RawClient.connect(port, appKey, query);
    sockets.push(client);
    return client;
  }

  /** Subscribes a fresh private channel of tenant acme with `token` on the RSA app's socket. */
  async function tryToken(token: string, client = rsaSocket) {
    const frame = await subscribeRaw(client, `${ORDERS}.${++channelCount}`, token);
    return refusal(frame) ?? { status: 200, error: '' };
  }

  before(async () => {
    [rsa, first, second] = await Promise.all([keyPair('RS256'), keyPair('ES256', 'first'), keyPair('EdDSA', 'second')]);
    jwks = await JwksServer.start([first.jwk]);
    jwksFile = join(scratchDir('jwt-tokens'), 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify({ keys: [first.jwk] }));
    server = await startTestServer({
      apps: [
        { ...APP },
        // An RSA key and an HMAC secret side by side: the setting algorithm confusion aims at.
        jwtApp({}, { publicKeys: [rsa.publicPem], issuer: ISSUER, audience: AUDIENCE, clockSkewSeconds: 5 }, RSA_APP),
        { ...JWKS_APP, authMode: 'jwt', jwt: { jwksUrl: jwks.url, jwksRefetchSeconds: 0 } },
        { ...FILE_APP, authMode: 'jwt', jwt: { jwksFile } },
        jwtApp({}, { clockSkewSeconds: 0 }, SHORT_APP),
      ],
    });
    port = server.port;
    rsaSocket = await socket(RSA_APP.key);
    await rsaSocket.established();
  });

  after(async () => {
    for (const client of sockets) client.close();
    await server.shutdown();
    await jwks.close();
  });

  it('accepts a good RS256 token and refuses `alg: none`', async () => {
    assert.deepEqual(await tryToken(await rsaToken()), { status: 200, error: '' });
    const payload = b64({ sub: 'u', tid: 'acme', roles: ['member'], iat: now(), exp: now() + 60, iss: ISSUER, aud: AUDIENCE });
    assert.deepEqual(await tryToken(`${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`), { status: 401, error: 'algorithm none not allowed' });
  });

  it('refuses HS256 signed with the RSA public key as the secret (algorithm confusion)', async () => {
    const header = b64({ alg: 'HS256', typ: 'JWT' });
    const payload = b64({ sub: 'u', tid: 'acme', roles: ['member'], iat: now(), exp: now() + 60, iss: ISSUER, aud: AUDIENCE });
    for (const secret of [rsa.publicPem, rsa.publicPem.trim(), rsa.publicPem.replace(/\n/g, '\\n')]) {
      const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
      assert.deepEqual(await tryToken(`${header}.${payload}.${signature}`), { status: 401, error: 'signature verification failed' });
    }
  });

  it('refuses expired, not yet valid, issued-ahead, foreign and tampered tokens, saying which check failed', async () => {
    const cases: [string, Promise<string>][] = [
      ['token expired', rsaToken({}, { expiresIn: -60 })],
      ['token not yet valid', rsaToken({ nbf: now() + 120 })],
      ['token issued in the future', rsaToken({}, { issuedAt: 120, expiresIn: 300 })],
      ['unexpected issuer', rsaToken({ iss: 'https://evil.test' })],
      ['unexpected audience', rsaToken({ aud: 'someone-else' })],
      ['missing claim sub', rsaToken({ sub: undefined })],
      ['missing claim tid', rsaToken({ tid: undefined })],
      ['missing claim roles', rsaToken({ roles: undefined })],
      ['signature verification failed', mintToken({ iss: ISSUER, aud: AUDIENCE }, { key: (await keyPair('RS256')).privateKey, alg: 'RS256' })],
    ];
    for (const [message, token] of cases) assert.deepEqual(await tryToken(await token), { status: 401, error: message }, message);
    const [header, , signature] = (await rsaToken()).split('.');
    const promoted = b64({ sub: 'u', tid: 'acme', roles: ['member', 'admin'], iat: now(), exp: now() + 60, iss: ISSUER, aud: AUDIENCE });
    assert.deepEqual(await tryToken(`${header}.${promoted}.${signature}`), { status: 401, error: 'signature verification failed' });
    assert.deepEqual(await tryToken('not.a-token'), { status: 401, error: 'malformed token' });
  });

  it('refuses a Pusher signature in jwt mode (§14.1)', async () => {
    const client = await socket(RSA_APP.key);
    const signed = sdk(port, RSA_APP).authorizeChannel(await client.established(), ORDERS).auth;
    assert.equal(refusal(await subscribeRaw(client, ORDERS, signed))?.status, 401);
  });

  it('follows a JWKS URL as keys rotate, without a restart; an unknown kid is refused', async () => {
    const client = await socket(JWKS_APP.key);
    await client.established();
    const token = (pair: KeyPair, alg: string) => mintToken({}, { key: pair.privateKey, alg, kid: pair.jwk.kid });
    assert.deepEqual(await tryToken(await token(first, 'ES256'), client), { status: 200, error: '' });
    assert.deepEqual(await tryToken(await token(second, 'EdDSA'), client), { status: 401, error: 'unknown key id' });
    jwks.keys = [second.jwk];
    assert.deepEqual(await tryToken(await token(second, 'EdDSA'), client), { status: 200, error: '' });
    assert.deepEqual(await tryToken(await token(first, 'ES256'), client), { status: 401, error: 'unknown key id' });
  });

  it('re-reads a JWKS file for a kid it lacks', async () => {
    const client = await socket(FILE_APP.key);
    await client.established();
    const token = (pair: KeyPair, alg: string) => mintToken({}, { key: pair.privateKey, alg, kid: pair.jwk.kid });
    assert.deepEqual(await tryToken(await token(first, 'ES256'), client), { status: 200, error: '' });
    writeFileSync(jwksFile, JSON.stringify({ keys: [second.jwk] }));
    assert.deepEqual(await tryToken(await token(second, 'EdDSA'), client), { status: 200, error: '' });
    assert.deepEqual(await tryToken(await token(first, 'ES256'), client), { status: 401, error: 'unknown key id' });
  });

  it('stops verifying a key removed from the JWKS file, with and without kid', async () => {
    const client = await socket(FILE_APP.key);
    await client.established();
    const withKid = () => mintToken({}, { key: first.privateKey, alg: 'ES256', kid: first.jwk.kid });
    const withoutKid = () => mintToken({}, { key: first.privateKey, alg: 'ES256' });
    writeFileSync(jwksFile, JSON.stringify({ keys: [first.jwk, second.jwk] }));
    assert.deepEqual(await tryToken(await withKid(), client), { status: 200, error: '' });
    assert.deepEqual(await tryToken(await withoutKid(), client), { status: 200, error: '' });
    writeFileSync(jwksFile, JSON.stringify({ keys: [second.jwk] }));
    // The file is re-checked at most once per second (§14.2): no event marks that second, so it is waited out.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.deepEqual(await tryToken(await withKid(), client), { status: 401, error: 'unknown key id' });
    assert.deepEqual(await tryToken(await withoutKid(), client), { status: 401, error: 'no key for algorithm ES256' });
  });

  it('refuses a token whose jti was revoked, in auth and as the signed-in token behind an empty auth', async () => {
    const token = await rsaToken({ jti: 'stolen-1' });
    assert.deepEqual(await tryToken(token), { status: 200, error: '' });
    const signedIn = await socket(SHORT_APP.key, `protocol=7&token=${await mintToken({ jti: 'stolen-2' })}`);
    await signedIn.next((f) => f.event === 'pusher:signin_success');
    assert.equal(refusal(await subscribeRaw(signedIn, `${ORDERS}.before`, '')), undefined);
    await server.ctx.engine.revokeToken(RSA_APP.id, 'stolen-1', Date.now() + 60_000);
    await server.ctx.engine.revokeToken(SHORT_APP.id, 'stolen-2', Date.now() + 60_000);
    assert.deepEqual(await tryToken(token), { status: 401, error: 'token revoked' });
    assert.deepEqual(refusal(await subscribeRaw(signedIn, `${ORDERS}.after`, '')), { status: 401, error: 'token revoked' });
  });

  it('signs in with ?token= (and closes with 4009 on a bad one)', async () => {
    const token = await mintToken({ sub: 'carol', user_info: { name: 'Carol' } });
    const client = await socket(SHORT_APP.key, `protocol=7&token=${token}`);
    await client.established();
    const success = await client.next((f) => f.event === 'pusher:signin_success');
    assert.deepEqual(JSON.parse((JSON.parse(success.data as string) as { user_data: string }).user_data), { id: 'acme.carol', user_info: { name: 'Carol' } });
    assert.equal(refusal(await subscribeRaw(client, ORDERS, '')), undefined);

    const bad = await socket(SHORT_APP.key, `protocol=7&token=${await mintToken({}, { expiresIn: -10 })}`);
    const error = await bad.next((f) => f.event === 'pusher:error');
    assert.deepEqual(error.data, { code: 4009, message: 'Invalid token: token expired' });
    assert.equal((await bad.closed).code, 4009);
  });

  it('signs in with a JWT as {tid}.{sub}, then joins presence with an empty auth as the claims say (user_id = sub)', async () => {
    const client = await socket(SHORT_APP.key);
    await client.established();
    client.send({ event: 'pusher:signin', data: { auth: await mintToken({ sub: 'dave', user_info: { name: 'Dave' } }), user_data: '{"id":"mallory"}' } });
    const success = await client.next((f) => f.event === 'pusher:signin_success');
    assert.equal((JSON.parse(success.data as string) as { user_data: string }).user_data, '{"id":"acme.dave","user_info":{"name":"Dave"}}');
    const joined = await subscribeRaw(client, ROOM, '', JSON.stringify({ user_id: 'mallory' }));
    assert.deepEqual(JSON.parse(joined.data as string), { presence: { count: 1, ids: ['dave'], hash: { dave: { name: 'Dave' } } } });
    // pusher-js subscribes its own #server-to-user-{id} after signin_success; another user's is refused.
    assert.equal(refusal(await subscribeRaw(client, '#server-to-user-acme.dave')), undefined);
    assert.equal(refusal(await subscribeRaw(client, '#server-to-user-acme.erin'))?.status, 401);
    // An identity provider's sub may hold characters channel names do not (auth0|…): its own channel still works.
    const other = await socket(SHORT_APP.key);
    await other.established();
    other.send({ event: 'pusher:signin', data: { auth: await mintToken({ sub: 'auth0|7' }), user_data: '{}' } });
    await other.next((f) => f.event === 'pusher:signin_success');
    assert.equal(refusal(await subscribeRaw(other, '#server-to-user-acme.auth0|7')), undefined);
    assert.equal(refusal(await subscribeRaw(other, '#server-to-user-acme.auth0|8'))?.status, 400);
  });

  it('closes with pusher:error 4203 when the earliest token of the connection expires', async () => {
    const client = await socket(SHORT_APP.key, `protocol=7&token=${await mintToken({}, { expiresIn: 300 })}`);
    await client.established();
    assert.equal(refusal(await subscribeRaw(client, ORDERS, await mintToken({}, { expiresIn: 1 }))), undefined);
    const error = await client.next((f) => f.event === 'pusher:error');
    assert.deepEqual(error.data, { code: 4203, message: 'Token expired: reconnect with a fresh token' });
    assert.equal((await client.closed).code, 4203);
  });

  it('counts the expiry of a token only once it opened a subscription: a refused token does not close the socket', async () => {
    const refusedOnly = await socket(SHORT_APP.key);
    await refusedOnly.established();
    const foreign = await mintToken({}, { expiresIn: 1 });
    assert.deepEqual(refusal(await subscribeRaw(refusedOnly, 'private-tenant.globex.orders', foreign)), { status: 403, error: 'channel belongs to another tenant' });
    const accepted = await socket(SHORT_APP.key);
    await accepted.established();
    assert.equal(refusal(await subscribeRaw(accepted, ORDERS, await mintToken({}, { expiresIn: 2 }))), undefined);
    // Had the refused token counted, the sweep would have closed its socket no later than this one.
    assert.equal((await accepted.closed).code, 4203);
    refusedOnly.send({ event: 'pusher:ping', data: {} });
    await refusedOnly.next((f) => f.event === 'pusher:pong');
  });

  it('closes with 4203 when the token expires; pusher-js reconnects and re-authorizes with a fresh token', async () => {
    const issued: number[] = [];
    const expiries: unknown[] = [];
    const pusher = jwtPusher(port, SHORT_APP.key, {
      // The first token lives one second; the ones after it five minutes.
      channel: () => {
        issued.push(Date.now());
        return mintToken({}, { expiresIn: issued.length === 1 ? 1 : 300 });
      },
    });
    pusher.connection.bind('error', (error: { data?: { code?: number } }) => expiries.push(error.data?.code));
    let subscribed = 0;
    const resubscribed = new Promise<void>((resolve) =>
      pusher.subscribe(ORDERS).bind('pusher:subscription_succeeded', () => {
        subscribed += 1;
        if (subscribed === 2) resolve();
      }),
    );
    await resubscribed;
    pusher.disconnect();
    assert.ok(expiries.includes(4203), `pusher-js saw ${JSON.stringify(expiries)}`);
    assert.equal(issued.length, 2);
  });

  it('Echo presence: here and joining carry the user info claims', async () => {
    const echoFor = (sub: string, name: string) => {
      const pusher = jwtPusher(port, SHORT_APP.key, {
        channel: () => mintToken({ sub, user_info: { name } }),
        user: () => mintToken({ sub, user_info: { name } }),
      });
      pusher.signin();
      return { pusher, echo: new Echo({ broadcaster: 'pusher', key: SHORT_APP.key, client: pusher }) };
    };
    const erin = echoFor('erin', 'Erin');
    const joining = new Promise<unknown>((resolve) => erin.echo.join('tenant.acme.lobby').joining(resolve));
    const here = await new Promise<unknown>((resolve) => erin.echo.join('tenant.acme.lobby').here(resolve));
    assert.deepEqual(here, [{ name: 'Erin' }]);
    const frank = echoFor('frank', 'Frank');
    const frankHere = await new Promise<unknown>((resolve) => frank.echo.join('tenant.acme.lobby').here(resolve));
    assert.deepEqual((frankHere as { name: string }[]).map((m) => m.name).sort(), ['Erin', 'Frank']);
    assert.deepEqual(await joining, { name: 'Frank' });
    erin.pusher.disconnect();
    frank.pusher.disconnect();
  });
});
