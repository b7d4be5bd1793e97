// The APNs provider (docs/PROTOCOL.md §16.3, §16.6) against fake APNs servers over HTTP/2 with
// TLS that verify the ES256 provider token with the .p8 key's public half, the apns-* headers and
// the payload. The provider trusts the fakes' self-signed certificate through the factory's
// test-only options argument.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { pushSchema } from '../src/config/schema.js';
import { createApnsProvider, type ApnsTestOptions } from '../src/push/providers/apns.js';
import { ProviderSettingError } from '../src/push/providers/setting-error.js';
import type { Device, PushProvider } from '../src/push/types.js';
import { freePort } from './support/cli-process.js';
import { apnsSigningKey, FakeApns, selfSignedCertificate, type TlsPair } from './support/push-fakes/apns.js';
import { scratchDir } from './support/scratch.js';

const KEY_ID = 'ABC123DEFG';
const TEAM_ID = 'DEF123GHIJ';
const TOPIC = 'com.example.shop';
const PHONE = 'a'.repeat(64);
const DEV_PHONE = 'b'.repeat(64);
const UNINSTALLED = 'c'.repeat(64);
const MINUTE = 60_000;

const device = (token: string, sandbox = false): Device => ({ id: `apns-${token}`, appId: 'app', provider: 'apns', token, sandbox, interests: [], createdAt: 0 });
const settingError = (setting: string, message: RegExp) => (error: unknown) => error instanceof ProviderSettingError && error.setting === setting && message.test(error.message);

describe('push provider: APNs', () => {
  const signal = new AbortController().signal;
  const { p8, publicKey } = apnsSigningKey();
  let tls: TlsPair;
  let production: FakeApns;
  let sandbox: FakeApns;
  const providers: PushProvider[] = [];

  const apnsProvider = (overrides: Record<string, unknown> = {}, options: ApnsTestOptions = {}): PushProvider => {
    const push = pushSchema.parse({ apns: { key: p8, keyId: KEY_ID, teamId: TEAM_ID, topic: TOPIC, baseUrl: production.url, sandboxBaseUrl: sandbox.url, ...overrides } });
    const provider = createApnsProvider(push, { ca: tls.cert, ...options });
    providers.push(provider);
    return provider;
  };

  before(async () => {
    tls = selfSignedCertificate();
    production = await FakeApns.start({ tls, keyId: KEY_ID, teamId: TEAM_ID, publicKey, topic: TOPIC });
    sandbox = await FakeApns.start({ tls, keyId: KEY_ID, teamId: TEAM_ID, publicKey, topic: TOPIC });
    production.register(PHONE);
    production.register(UNINSTALLED);
    production.unregister(UNINSTALLED);
    sandbox.register(DEV_PHONE);
  });
  after(async () => {
    await Promise.all(providers.map((provider) => provider.close()));
    await Promise.all([production.close(), sandbox.close()]);
  });

  it('sends an alert with an ES256 provider token, the apns-* headers and the payload of §16.3', async () => {
    const provider = apnsProvider();
    const before = Math.floor(Date.now() / 1000);
    const outcome = await provider.send(
      device(PHONE),
      {
        title: 'Order shipped',
        body: 'Your order #7 is on its way',
        url: 'https://shop.example/orders/7',
        data: { order: 7 },
        ttlSeconds: 3600,
        urgency: 'high',
        collapseKey: 'order-7',
        apns: { aps: { sound: 'default', alert: { subtitle: 'Shop' } } },
      },
      signal,
    );
    const after = Math.floor(Date.now() / 1000);
    assert.deepEqual(outcome, { kind: 'sent' });
    assert.deepEqual(production.deliveredTo(PHONE), [
      { order: 7, aps: { alert: { title: 'Order shipped', body: 'Your order #7 is on its way', subtitle: 'Shop' }, sound: 'default' }, url: 'https://shop.example/orders/7' },
    ]);
    const request = production.requests.at(-1)!;
    assert.equal(request.headers['apns-topic'], TOPIC);
    assert.equal(request.headers['apns-push-type'], 'alert');
    assert.equal(request.headers['apns-priority'], '10');
    assert.equal(request.headers['apns-collapse-id'], 'order-7');
    const expiration = Number(request.headers['apns-expiration']);
    assert.ok(expiration >= before + 3600 && expiration <= after + 3600, `apns-expiration ${expiration} is now + 3600`);
    // The fake verified the signature with the public key; the token carries exactly Apple's fields.
    assert.deepEqual(decodeProtectedHeader(request.jwt), { alg: 'ES256', kid: KEY_ID });
    assert.deepEqual(Object.keys(decodeJwt(request.jwt)).sort(), ['iat', 'iss']);
    assert.equal(decodeJwt(request.jwt).iss, TEAM_ID);
  });

  it('sends a notification without title and body as a background push, and a low one at priority 5', async () => {
    const provider = apnsProvider();
    assert.deepEqual(await provider.send(device(PHONE), { data: { sync: 'orders' }, ttlSeconds: 0 }, signal), { kind: 'sent' });
    let request = production.requests.at(-1)!;
    assert.deepEqual(request.payload, { sync: 'orders', aps: { 'content-available': 1 } });
    assert.equal(request.headers['apns-push-type'], 'background');
    assert.equal(request.headers['apns-priority'], '5');
    assert.equal(request.headers['apns-expiration'], '0');
    assert.equal(request.headers['apns-collapse-id'], undefined);

    assert.deepEqual(await provider.send(device(PHONE), { body: 'Weekly digest', urgency: 'low' }, signal), { kind: 'sent' });
    request = production.requests.at(-1)!;
    assert.equal(request.headers['apns-push-type'], 'alert');
    assert.equal(request.headers['apns-priority'], '5');
  });

  it('sends the tokens of development builds to the sandbox', async () => {
    const provider = apnsProvider();
    const productionRequests = production.requests.length;
    assert.deepEqual(await provider.send(device(DEV_PHONE, true), { title: 'Hi' }, signal), { kind: 'sent' });
    assert.deepEqual(sandbox.deliveredTo(DEV_PHONE), [{ aps: { alert: { title: 'Hi' } } }]);
    assert.equal(production.requests.length, productionRequests);
    // A development token at the production server is a bad token, as at Apple.
    assert.deepEqual(await provider.send(device(DEV_PHONE), { title: 'Hi' }, signal), { kind: 'dead', reason: 'apns: 400 BadDeviceToken' });
  });

  it('says dead for 410 Unregistered, BadDeviceToken and DeviceTokenNotForTopic', async () => {
    const provider = apnsProvider();
    assert.deepEqual(await provider.send(device(UNINSTALLED), { title: 'Hi' }, signal), { kind: 'dead', reason: 'apns: 410 Unregistered' });
    assert.deepEqual(await provider.send(device('d'.repeat(64)), { title: 'Hi' }, signal), { kind: 'dead', reason: 'apns: 400 BadDeviceToken' });
    production.answerNext({ status: 400, reason: 'DeviceTokenNotForTopic' });
    assert.deepEqual(await provider.send(device(PHONE), { title: 'Hi' }, signal), { kind: 'dead', reason: 'apns: 400 DeviceTokenNotForTopic' });
  });

  it('says retry on 429 and 5xx, failed on other refusals', async () => {
    const provider = apnsProvider();
    production.answerNext({ status: 429, reason: 'TooManyRequests' }, { status: 503, reason: 'ServiceUnavailable' });
    assert.deepEqual(await provider.send(device(PHONE), { title: 'Hi' }, signal), { kind: 'retry', reason: 'apns: 429 TooManyRequests' });
    assert.deepEqual(await provider.send(device(PHONE), { title: 'Hi' }, signal), { kind: 'retry', reason: 'apns: 503 ServiceUnavailable' });
    assert.deepEqual(await provider.send(device(PHONE), { title: 'Hi', data: { blob: 'x'.repeat(5000) } }, signal), { kind: 'failed', reason: 'apns: 413 PayloadTooLarge' });
    assert.deepEqual(await apnsProvider({ topic: 'com.example.other' }).send(device(PHONE), { title: 'Hi' }, signal), { kind: 'failed', reason: 'apns: 400 TopicDisallowed' });
    assert.deepEqual(await apnsProvider({ keyId: 'ZZZ999ZZZZ' }).send(device(PHONE), { title: 'Hi' }, signal), { kind: 'failed', reason: 'apns: 403 InvalidProviderToken' });
  });

  it('signs one provider token for many sends on one kept connection, and reconnects after a GOAWAY', async () => {
    const provider = apnsProvider();
    const first = production.requests.length;
    const sessionsBefore = production.sessions;
    const outcomes = await Promise.all(Array.from({ length: 5 }, () => provider.send(device(PHONE), { title: 'Hi' }, signal)));
    outcomes.push(await provider.send(device(PHONE), { title: 'Again' }, signal));
    assert.deepEqual(outcomes, Array(6).fill({ kind: 'sent' }));
    const sent = production.requests.slice(first);
    assert.equal(new Set(sent.map((r) => r.jwt)).size, 1);
    assert.equal(new Set(sent.map((r) => r.session)).size, 1);
    assert.equal(production.sessions, sessionsBefore + 1);

    production.goaway();
    assert.deepEqual(await provider.send(device(PHONE), { title: 'After goaway' }, signal), { kind: 'sent' });
    assert.equal(production.sessions, sessionsBefore + 2);
    assert.equal(production.requests.at(-1)!.jwt, sent[0]!.jwt);
  });

  it('renews the provider token once it is 50 minutes old', async () => {
    let offset = -56 * MINUTE;
    const provider = apnsProvider({}, { now: () => Date.now() + offset });
    assert.deepEqual(await provider.send(device(PHONE), { title: 'Hi' }, signal), { kind: 'sent' });
    const old = production.requests.at(-1)!.jwt;
    offset = -5 * MINUTE;
    assert.deepEqual(await provider.send(device(PHONE), { title: 'Hi' }, signal), { kind: 'sent' });
    const renewed = production.requests.at(-1)!.jwt;
    assert.notEqual(renewed, old);
    assert.equal(decodeJwt(renewed).iat! - decodeJwt(old).iat!, 51 * 60);
  });

  it('renews the provider token after ExpiredProviderToken and says retry', async () => {
    let offset = -30 * MINUTE;
    const provider = apnsProvider({}, { now: () => Date.now() + offset });
    assert.deepEqual(await provider.send(device(PHONE), { title: 'Hi' }, signal), { kind: 'sent' });
    const refused = production.requests.at(-1)!.jwt;
    production.answerNext({ status: 403, reason: 'ExpiredProviderToken' });
    assert.deepEqual(await provider.send(device(PHONE), { title: 'Hi' }, signal), { kind: 'retry', reason: 'apns: 403 ExpiredProviderToken' });
    // 21 minutes on (APNs refuses renewals within 20): younger than 50 minutes, yet renewed.
    offset = -9 * MINUTE;
    assert.deepEqual(await provider.send(device(PHONE), { title: 'Hi' }, signal), { kind: 'sent' });
    assert.notEqual(production.requests.at(-1)!.jwt, refused);
  });

  it('says retry when APNs cannot be reached', async () => {
    const provider = apnsProvider({ baseUrl: `https://127.0.0.1:${await freePort()}` });
    assert.deepEqual(await provider.send(device(PHONE), { title: 'Hi' }, signal), { kind: 'retry', reason: 'apns: network error ECONNREFUSED' });
  });

  it('refuses keys that cannot sign ES256, naming the setting', () => {
    const base = { keyId: KEY_ID, teamId: TEAM_ID, topic: TOPIC };
    const build = (apns: Record<string, unknown>) => () => createApnsProvider(pushSchema.parse({ apns: { ...base, ...apns } }));
    const pkcs8 = (type: 'rsa' | 'ec', options: object) =>
      (generateKeyPairSync(type as 'ec', options as { namedCurve: string }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
    assert.throws(build({ keyFile: '/nonexistent/AuthKey.p8' }), settingError('push.apns.keyFile', /cannot read .*ENOENT/));
    assert.throws(build({ key: 'not a key' }), settingError('push.apns.key', /PKCS#8/));
    const sec1 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'pem', type: 'sec1' }) as string;
    assert.throws(build({ key: sec1 }), settingError('push.apns.key', /PKCS#8/));
    assert.throws(build({ key: pkcs8('ec', { namedCurve: 'secp384r1' }) }), settingError('push.apns.key', /EC P-256 .*secp384r1/));
    assert.throws(build({ key: pkcs8('rsa', { modulusLength: 2048 }) }), settingError('push.apns.key', /EC P-256 .*rsa/));
    const keyFile = join(scratchDir('apns'), 'AuthKey_ABC123DEFG.p8');
    writeFileSync(keyFile, p8);
    providers.push(build({ keyFile })());
    // As an env var carries it: one line with literal \n.
    providers.push(build({ key: p8.replace(/\n/g, '\\n') })());
  });
});
