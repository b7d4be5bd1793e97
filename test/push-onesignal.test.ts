// The OneSignal provider (docs/PROTOCOL.md §16.3, §16.6) against a fake OneSignal REST API over
// real HTTP that checks the key, the app id and the body as OneSignal does.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pushSchema } from '../src/config/schema.js';
import { createOneSignalProvider } from '../src/push/providers/onesignal.js';
import { ProviderSettingError } from '../src/push/providers/setting-error.js';
import type { Device, PushProvider } from '../src/push/types.js';
import { freePort } from './support/cli-process.js';
import { FakeOneSignal } from './support/push-fakes/onesignal.js';

const APP_ID = '5eb5a37e-b458-11e3-ac11-000c2940e62c';
const REST_API_KEY = 'os_v2_app_test-rest-api-key';
const SUBSCRIBED = '1dd608f2-c6a1-11e3-851d-000c2940e62c';
const UNSUBSCRIBED = '2ee719a3-d7b2-11e3-962e-000c2940e62c';

const device = (token: string): Device => ({ id: `onesignal-${token}`, appId: 'app', provider: 'onesignal', token, interests: [], createdAt: 0 });
const providerFor = (baseUrl: string, restApiKey = REST_API_KEY): PushProvider =>
  createOneSignalProvider(pushSchema.parse({ onesignal: { appId: APP_ID, restApiKey, baseUrl }, ttlSeconds: 600 }));

describe('push provider: OneSignal', () => {
  let fake: FakeOneSignal;
  let provider: PushProvider;
  const signal = new AbortController().signal;

  before(async () => {
    fake = await FakeOneSignal.start(APP_ID, REST_API_KEY);
    fake.subscribe(SUBSCRIBED);
    provider = providerFor(fake.baseUrl);
  });
  after(async () => {
    await provider.close();
    await fake.close();
  });

  it('posts the notification with the REST API key, as §16.3 maps it, merged with `onesignal`', async () => {
    const outcome = await provider.send(
      device(SUBSCRIBED),
      {
        title: 'Order shipped',
        body: 'Your order #7 is on its way',
        url: 'https://shop.example/orders/7',
        data: { order: 7 },
        ttlSeconds: 3600,
        onesignal: { headings: { fr: 'Commande expédiée' }, priority: 10 },
      },
      signal,
    );
    assert.deepEqual(outcome, { kind: 'sent' });
    const request = fake.requests.at(-1)!;
    assert.equal(request.path, '/notifications?c=push');
    assert.equal(request.headers.authorization, `Key ${REST_API_KEY}`);
    assert.deepEqual(fake.deliveredTo(SUBSCRIBED), [
      {
        app_id: APP_ID,
        include_subscription_ids: [SUBSCRIBED],
        target_channel: 'push',
        ttl: 3600,
        headings: { en: 'Order shipped', fr: 'Commande expédiée' },
        contents: { en: 'Your order #7 is on its way' },
        url: 'https://shop.example/orders/7',
        data: { order: 7 },
        priority: 10,
      },
    ]);
  });

  /** What the fake got for a notification without a TTL of its own: the envelope, the app's TTL and `fields`. */
  const withAppTtl = (fields: Record<string, unknown>) => ({ app_id: APP_ID, include_subscription_ids: [SUBSCRIBED], target_channel: 'push', ttl: 600, ...fields });

  it("sends a data-only notification as a background one, with the app's TTL", async () => {
    assert.deepEqual(await provider.send(device(SUBSCRIBED), { data: { sync: true } }, signal), { kind: 'sent' });
    assert.deepEqual(fake.deliveredTo(SUBSCRIBED).at(-1), withAppTtl({ content_available: true, data: { sync: true } }));
  });

  it('sends a title-only notification with the title as its contents (OneSignal refuses one without)', async () => {
    assert.deepEqual(await provider.send(device(SUBSCRIBED), { title: 'Order shipped' }, signal), { kind: 'sent' });
    assert.deepEqual(fake.deliveredTo(SUBSCRIBED).at(-1), withAppTtl({ contents: { en: 'Order shipped' } }));
    assert.deepEqual(await provider.send(device(SUBSCRIBED), { body: 'Your order is on its way' }, signal), { kind: 'sent' });
    assert.deepEqual(fake.deliveredTo(SUBSCRIBED).at(-1), withAppTtl({ contents: { en: 'Your order is on its way' } }));
  });

  it('says dead for a subscription OneSignal reports as not subscribed or invalid', async () => {
    assert.deepEqual(await provider.send(device(UNSUBSCRIBED), { title: 'Hi', body: 'there' }, signal), { kind: 'dead', reason: 'onesignal: not subscribed' });
    assert.deepEqual(fake.requests.at(-1)!.errors, ['All included players are not subscribed']);

    fake.answerNext({ status: 200, body: { id: crypto.randomUUID(), errors: { invalid_subscription_ids: [UNSUBSCRIBED] } } });
    assert.deepEqual(await provider.send(device(UNSUBSCRIBED), { body: 'there' }, signal), { kind: 'dead', reason: 'onesignal: invalid_subscription_ids' });
    fake.answerNext({ status: 200, body: { id: crypto.randomUUID(), errors: { invalid_player_ids: [UNSUBSCRIBED] } } });
    assert.deepEqual(await provider.send(device(UNSUBSCRIBED), { body: 'there' }, signal), { kind: 'dead', reason: 'onesignal: invalid_player_ids' });
    // Ids other than this device's (a merged `onesignal` target) leave it reached.
    fake.answerNext({ status: 200, body: { id: crypto.randomUUID(), errors: { invalid_player_ids: [UNSUBSCRIBED] } } });
    assert.deepEqual(await provider.send(device(SUBSCRIBED), { body: 'there' }, signal), { kind: 'sent' });
  });

  it('says retry on 429 and 5xx, after Retry-After when OneSignal sends one', async () => {
    fake.answerNext({ status: 429, headers: { 'Retry-After': '7' }, body: { errors: ['API rate limit exceeded'] } });
    assert.deepEqual(await provider.send(device(SUBSCRIBED), { body: 'x' }, signal), { kind: 'retry', reason: 'onesignal: 429', afterMs: 7000 });
    fake.answerNext({ status: 503 });
    assert.deepEqual(await provider.send(device(SUBSCRIBED), { body: 'x' }, signal), { kind: 'retry', reason: 'onesignal: 503' });
  });

  it('says failed on the 4xx answers to a bad key or a bad payload', async () => {
    const wrongKey = providerFor(fake.baseUrl, 'not-the-key');
    assert.deepEqual(await wrongKey.send(device(SUBSCRIBED), { body: 'x' }, signal), { kind: 'failed', reason: 'onesignal: 403' });
    assert.deepEqual(await provider.send(device(SUBSCRIBED), { body: 'x', onesignal: { url: 'javascript:alert(1)' } }, signal), { kind: 'failed', reason: 'onesignal: 400' });
  });

  it('says retry when OneSignal cannot be reached', async () => {
    const unreachable = providerFor(`http://127.0.0.1:${await freePort()}`);
    const outcome = await unreachable.send(device(SUBSCRIBED), { body: 'x' }, signal);
    assert.deepEqual(outcome, { kind: 'retry', reason: 'onesignal: network error ECONNREFUSED' });
  });

  it('refuses to build without push.onesignal', () => {
    assert.throws(() => createOneSignalProvider(pushSchema.parse({})), (error: unknown) => error instanceof ProviderSettingError && error.setting === 'push.onesignal');
  });
});
