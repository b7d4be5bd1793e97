// The FCM HTTP v1 provider (docs/PROTOCOL.md §16.3, §16.6) against a fake FCM whose token
// endpoint verifies the signed assertion with the service account's public key and whose send
// endpoint wants the access token it issued and a well-formed v1 message.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pushSchema, type PushConfig } from '../src/config/schema.js';
import { createFcmProvider } from '../src/push/providers/fcm.js';
import { ProviderSettingError } from '../src/push/providers/setting-error.js';
import type { Device, PushProvider } from '../src/push/types.js';
import { freePort } from './support/cli-process.js';
import { FakeFcm, FCM_SCOPE } from './support/push-fakes/fcm.js';
import { scratchDir } from './support/scratch.js';

const settings = (fake: FakeFcm, fcm: object = {}, extra: object = {}): PushConfig =>
  pushSchema.parse({ fcm: { serviceAccount: fake.serviceAccount(), baseUrl: fake.baseUrl, ...fcm }, ...extra });

const deviceOf = (token: string): Device => ({ id: 'device-1', appId: 'shop', provider: 'fcm', token, interests: [], createdAt: Date.now() });

const signal = () => new AbortController().signal;

const settingError = (setting: string, mentions: string) => (error: unknown) => {
  assert.ok(error instanceof ProviderSettingError, String(error));
  assert.equal(error.setting, setting);
  assert.ok(error.message.includes(mentions), error.message);
  assert.ok(!error.message.includes('PRIVATE KEY'), 'the message must not quote the key');
  return true;
};

describe('push/fcm', () => {
  let fcm: FakeFcm;
  let provider: PushProvider;

  before(async () => {
    fcm = await FakeFcm.start();
    provider = createFcmProvider(settings(fcm, {}, { ttlSeconds: 120 }));
  });
  after(async () => {
    await provider.close();
    await fcm.close();
  });

  it('sends the v1 message with an access token bought by a signed assertion, and reuses the token', async () => {
    const token = fcm.register();
    const shipped = {
      title: 'Order shipped',
      body: 'Your order #7 is on its way',
      url: 'https://shop.example/orders/7',
      icon: 'https://shop.example/icon.png',
      data: { order: 7, gift: false, note: 'fragile' },
      ttlSeconds: 3600,
      urgency: 'high' as const,
      collapseKey: 'order-7',
      fcm: { data: { tracking: 'ZX1' }, android: { notification: { channel_id: 'orders' } } },
    };
    assert.deepEqual(await provider.send(deviceOf(token), shipped, signal()), { kind: 'sent' });
    assert.deepEqual(await provider.send(deviceOf(token), { title: 'Hi' }, signal()), { kind: 'sent' });

    assert.equal(fcm.assertions.length, 1, 'one token for both sends');
    const [claims] = fcm.assertions;
    assert.equal(claims!.iss, fcm.clientEmail);
    assert.equal(claims!.aud, fcm.tokenUri);
    assert.equal(claims!.scope, FCM_SCOPE);
    assert.ok(claims!.exp! - claims!.iat! <= 3600);

    const [first, second] = fcm.delivered(token);
    assert.deepEqual(first!.message, {
      token,
      notification: { title: 'Order shipped', body: 'Your order #7 is on its way', image: 'https://shop.example/icon.png' },
      data: { order: '7', gift: 'false', note: 'fragile', tracking: 'ZX1', url: 'https://shop.example/orders/7' },
      android: { ttl: '3600s', collapse_key: 'order-7', priority: 'high', notification: { channel_id: 'orders' } },
      webpush: { fcm_options: { link: 'https://shop.example/orders/7' } },
    });
    // The app's ttlSeconds; no urgency, no priority: FCM's own default applies.
    assert.deepEqual(second!.message, { token, notification: { title: 'Hi' }, android: { ttl: '120s' } });
  });

  it('buys one token for concurrent sends, and a new one a minute before the old one expires', async () => {
    const fresh = createFcmProvider(settings(fcm));
    const before = fcm.assertions.length;
    const tokens = Array.from({ length: 5 }, () => fcm.register());
    const outcomes = await Promise.all(tokens.map((token) => fresh.send(deviceOf(token), { title: 'Hi' }, signal())));
    assert.deepEqual(new Set(outcomes.map((outcome) => outcome.kind)), new Set(['sent']));
    assert.equal(fcm.assertions.length, before + 1);

    // Tokens that live 30 s are always within the minute: each send buys its own.
    const shortLived = await FakeFcm.start({ expiresInSeconds: 30 });
    try {
      const renewing = createFcmProvider(settings(shortLived));
      const token = shortLived.register();
      for (let i = 0; i < 2; i++) assert.deepEqual(await renewing.send(deviceOf(token), { title: `${i}` }, signal()), { kind: 'sent' });
      assert.equal(shortLived.assertions.length, 2);
    } finally {
      await shortLived.close();
    }
  });

  it('answers a 401 with one fresh token and one more try', async () => {
    const token = fcm.register();
    const before = fcm.assertions.length;
    fcm.revokeAccessTokens();
    assert.deepEqual(await provider.send(deviceOf(token), { title: 'Hi' }, signal()), { kind: 'sent' });
    assert.equal(fcm.assertions.length, before + 1);
    assert.equal(fcm.delivered(token).length, 1);

    const stubborn = fcm.register();
    fcm.script(stubborn, () => ({ status: 401, body: { error: { code: 401, message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED' } } }));
    assert.deepEqual(await provider.send(deviceOf(stubborn), { title: 'Hi' }, signal()), { kind: 'failed', reason: 'fcm: 401 UNAUTHENTICATED' });
    assert.equal(fcm.received.filter((send) => send.token === stubborn).length, 2);
  });

  it('says a token is dead on 404 UNREGISTERED and on 400 INVALID_ARGUMENT about message.token', async () => {
    const token = fcm.register();
    fcm.unregister(token);
    assert.deepEqual(await provider.send(deviceOf(token), { title: 'Hi' }, signal()), { kind: 'dead', reason: 'fcm: 404 UNREGISTERED' });
    assert.deepEqual(await provider.send(deviceOf('never-issued'), { title: 'Hi' }, signal()), { kind: 'dead', reason: 'fcm: 400 INVALID_ARGUMENT (token)' });
  });

  it('retries 429 and 5xx after Retry-After; fails a bad message or the wrong project', async () => {
    const token = fcm.register();
    const answers = [
      { status: 503, headers: { 'Retry-After': '7' }, body: { error: { code: 503, message: 'The service is currently unavailable.', status: 'UNAVAILABLE' } } },
      { status: 429, body: { error: { code: 429, status: 'RESOURCE_EXHAUSTED', details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'QUOTA_EXCEEDED' }] } } },
    ];
    fcm.script(token, (n) => answers[n - 1]);
    assert.deepEqual(await provider.send(deviceOf(token), { title: 'Hi' }, signal()), { kind: 'retry', reason: 'fcm: 503 UNAVAILABLE', afterMs: 7000 });
    assert.deepEqual(await provider.send(deviceOf(token), { title: 'Hi' }, signal()), { kind: 'retry', reason: 'fcm: 429 QUOTA_EXCEEDED' });

    const bogus = await provider.send(deviceOf(token), { title: 'Hi', fcm: { android: { bogus: 1 } } }, signal());
    assert.deepEqual(bogus, { kind: 'failed', reason: 'fcm: 400 INVALID_ARGUMENT' });
    const otherProject = createFcmProvider(settings(fcm, { serviceAccount: fcm.serviceAccount({ project_id: 'someone-else' }) }));
    assert.deepEqual(await otherProject.send(deviceOf(token), { title: 'Hi' }, signal()), { kind: 'failed', reason: 'fcm: 403 SENDER_ID_MISMATCH' });
  });

  it('fails sends when the token endpoint refuses the assertion; retries when it does not answer', async () => {
    const token = fcm.register();
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    for (const account of [{ private_key: otherKey }, { client_email: 'intruder@elsewhere.iam.gserviceaccount.com' }]) {
      const refused = createFcmProvider(settings(fcm, { serviceAccount: fcm.serviceAccount(account) }));
      assert.deepEqual(await refused.send(deviceOf(token), { title: 'Hi' }, signal()), { kind: 'failed', reason: 'fcm token: 400 invalid_grant' });
    }
    const unreachable = createFcmProvider(settings(fcm, { tokenUrl: `http://127.0.0.1:${await freePort()}/token` }));
    assert.deepEqual(await unreachable.send(deviceOf(token), { title: 'Hi' }, signal()), { kind: 'retry', reason: 'fcm token: network error ECONNREFUSED' });
    assert.equal(fcm.received.filter((send) => send.token === token).length, 0);
  });

  it('reads the service account from a file', async () => {
    const file = join(scratchDir('fcm'), 'service-account.json');
    writeFileSync(file, fcm.serviceAccount());
    const fromFile = createFcmProvider(pushSchema.parse({ fcm: { serviceAccountFile: file, baseUrl: fcm.baseUrl } }));
    const token = fcm.register();
    assert.deepEqual(await fromFile.send(deviceOf(token), { title: 'Hi' }, signal()), { kind: 'sent' });
  });

  it('refuses settings that cannot work, naming the setting and never quoting the key', () => {
    const inline = (serviceAccount: string) => pushSchema.parse({ fcm: { serviceAccount } });
    assert.throws(() => createFcmProvider(pushSchema.parse({})), settingError('push.fcm', 'not set'));
    assert.throws(() => createFcmProvider(inline('{"private_key": "-----BEGIN PRIVATE KEY-----')), settingError('push.fcm.serviceAccount', 'not JSON'));
    for (const field of ['private_key', 'client_email', 'project_id']) {
      assert.throws(() => createFcmProvider(inline(fcm.serviceAccount({ [field]: undefined }))), settingError('push.fcm.serviceAccount', `has no ${field}`));
    }
    assert.throws(() => createFcmProvider(inline(fcm.serviceAccount({ private_key: '-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n' }))), settingError('push.fcm.serviceAccount', 'not a PEM private key'));
    const ecKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    assert.throws(() => createFcmProvider(inline(fcm.serviceAccount({ private_key: ecKey }))), settingError('push.fcm.serviceAccount', 'not an RSA key'));
    const missing = join(scratchDir('fcm'), 'absent.json');
    assert.throws(() => createFcmProvider(pushSchema.parse({ fcm: { serviceAccountFile: missing } })), settingError('push.fcm.serviceAccountFile', 'ENOENT'));
  });
});
