// The Web Push provider (docs/PROTOCOL.md §16.3, §16.6) against a fake push service that checks
// the VAPID JWT and decrypts each payload with the subscription's private key, as a browser's push
// service and the browser do; and `broadcasty keygen --vapid`, whose pair must work with both.
import assert from 'node:assert/strict';
import { createECDH } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { pushSchema, type PushConfig } from '../src/config/schema.js';
import { ProviderSettingError } from '../src/push/providers/setting-error.js';
import { createWebPushProvider } from '../src/push/providers/webpush.js';
import type { Device, Notification, PushProvider } from '../src/push/types.js';
import { freePort, runCli } from './support/cli-process.js';
import { FakeWebPushService, type Subscription } from './support/push-fakes/webpush.js';

function vapidPair(): { publicKey: string; privateKey: string } {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  // getPrivateKey() drops leading zero bytes; VAPID keys are always 32.
  const privateKey = ecdh.getPrivateKey();
  return { publicKey: ecdh.getPublicKey('base64url'), privateKey: Buffer.concat([Buffer.alloc(32 - privateKey.length), privateKey]).toString('base64url') };
}

const SUBJECT = 'mailto:push@shop.example';
const settings = (pair: { publicKey: string; privateKey: string }, extra: object = {}): PushConfig => pushSchema.parse({ webpush: { ...pair, subject: SUBJECT }, ...extra });

const deviceOf = (subscription: Subscription): Device => ({
  id: 'device-1',
  appId: 'shop',
  provider: 'webpush',
  token: subscription.endpoint,
  keys: subscription.keys,
  interests: [],
  createdAt: Date.now(),
});

const signal = () => new AbortController().signal;

describe('push/webpush', () => {
  const pair = vapidPair();
  let service: FakeWebPushService;
  let provider: PushProvider;

  before(async () => {
    service = await FakeWebPushService.start(pair.publicKey);
    provider = createWebPushProvider(settings(pair, { ttlSeconds: 120 }));
  });
  after(async () => {
    await provider.close();
    await service.close();
  });

  it('delivers the notification encrypted for the subscription, signed with VAPID, with TTL, Urgency and Topic', async () => {
    const subscription = service.subscribe();
    const notification: Notification = {
      title: 'Order shipped',
      body: 'Your order #7 is on its way',
      url: 'https://shop.example/orders/7',
      icon: 'https://shop.example/icon.png',
      data: { order: 7 },
      ttlSeconds: 3600,
      urgency: 'high',
      collapseKey: 'order-7',
      webpush: { payload: { badge: 'https://shop.example/badge.png', data: { tracking: 'ZX1' } } },
    };
    assert.deepEqual(await provider.send(deviceOf(subscription), notification, signal()), { kind: 'sent' });
    const [push] = service.delivered(subscription.endpoint);
    assert.ok(push, JSON.stringify(service.received.map((p) => p.refused)));
    assert.deepEqual(push.payload, {
      title: 'Order shipped',
      body: 'Your order #7 is on its way',
      url: 'https://shop.example/orders/7',
      icon: 'https://shop.example/icon.png',
      data: { order: 7, tracking: 'ZX1' },
      badge: 'https://shop.example/badge.png',
    });
    assert.equal(push.headers.ttl, '3600');
    assert.equal(push.headers.urgency, 'high');
    assert.equal(push.headers.topic, 'order-7');
    assert.equal(push.claims!.aud, service.origin);
    assert.equal(push.claims!.sub, SUBJECT);
  });

  it("uses the app's ttlSeconds and normal urgency by default; a collapse key over 32 characters becomes a stable 32-character Topic", async () => {
    const subscription = service.subscribe();
    const device = deviceOf(subscription);
    const long = 'order-update-'.padEnd(64, 'x');
    for (const notification of [{ title: 'Hi' }, { title: 'A', collapseKey: long }, { title: 'B', collapseKey: long }, { title: 'C', collapseKey: long.slice(0, -1) + 'y' }]) {
      assert.deepEqual(await provider.send(device, notification, signal()), { kind: 'sent' });
    }
    const [plain, first, second, other] = service.delivered(subscription.endpoint);
    assert.deepEqual(plain!.payload, { title: 'Hi' });
    assert.equal(plain!.headers.ttl, '120');
    assert.equal(plain!.headers.urgency, 'normal');
    assert.equal(plain!.headers.topic, undefined);
    assert.equal(String(first!.headers.topic).length, 32);
    assert.equal(second!.headers.topic, first!.headers.topic);
    assert.notEqual(other!.headers.topic, first!.headers.topic);
  });

  it('says a subscription is dead on 410 (unsubscribed) and 404 (unknown), naming only the origin', async () => {
    const subscription = service.subscribe();
    service.unsubscribe(subscription.endpoint);
    const gone = await provider.send(deviceOf(subscription), { title: 'Hi' }, signal());
    assert.deepEqual(gone, { kind: 'dead', reason: `webpush: 410 from ${service.origin}` });
    const unknown = await provider.send(deviceOf({ ...service.subscribe(), endpoint: `${service.origin}/wpush/v2/never-subscribed` }), { title: 'Hi' }, signal());
    assert.deepEqual(unknown, { kind: 'dead', reason: `webpush: 404 from ${service.origin}` });
  });

  it('retries 429 after its Retry-After (seconds or a date) and 5xx; fails other 4xx', async () => {
    const subscription = service.subscribe();
    const answers = [
      { status: 429, headers: { 'Retry-After': '2' } },
      { status: 500 },
      { status: 503, headers: { 'Retry-After': new Date(Date.now() + 30_000).toUTCString() } },
      { status: 413 },
    ];
    service.script(subscription.endpoint, (n) => answers[n - 1]);
    const outcomes = [];
    for (let i = 0; i < answers.length; i++) outcomes.push(await provider.send(deviceOf(subscription), { title: `try ${i}` }, signal()));
    assert.deepEqual(outcomes[0], { kind: 'retry', reason: `webpush: 429 from ${service.origin}`, afterMs: 2000 });
    assert.deepEqual(outcomes[1], { kind: 'retry', reason: `webpush: 500 from ${service.origin}` });
    const dated = outcomes[2]!;
    assert.ok(dated.kind === 'retry' && dated.afterMs !== undefined && dated.afterMs > 0 && dated.afterMs <= 30_000, JSON.stringify(dated));
    assert.deepEqual(outcomes[3], { kind: 'failed', reason: `webpush: 413 from ${service.origin}` });
    // Every one of them was a push the service could verify and decrypt.
    assert.equal(service.delivered(subscription.endpoint).length, answers.length);
  });

  it('retries when nothing answers: a closed port, a send cut short by its signal', async () => {
    const subscription = service.subscribe();
    const closed = { ...subscription, endpoint: `http://127.0.0.1:${await freePort()}/wpush/v2/x` };
    const refused = await provider.send(deviceOf(closed), { title: 'Hi' }, signal());
    assert.deepEqual(refused, { kind: 'retry', reason: 'webpush: network error ECONNREFUSED' });
    const cut = await provider.send(deviceOf(subscription), { title: 'Hi' }, AbortSignal.abort());
    assert.deepEqual(cut, { kind: 'retry', reason: 'webpush: aborted' });
  });

  it("is refused by the service for another subscription's keys or another VAPID key: failed, not retried", async () => {
    const subscription = service.subscribe();
    const strangerKeys = { ...subscription, keys: service.subscribe().keys };
    assert.deepEqual(await provider.send(deviceOf(strangerKeys), { title: 'Hi' }, signal()), { kind: 'failed', reason: `webpush: 400 from ${service.origin}` });
    const impostor = createWebPushProvider(settings(vapidPair()));
    assert.deepEqual(await impostor.send(deviceOf(subscription), { title: 'Hi' }, signal()), { kind: 'failed', reason: `webpush: 403 from ${service.origin}` });
    assert.deepEqual(
      service.received.filter((push) => push.endpoint === subscription.endpoint).map((push) => push.refused),
      ['record 0 does not decrypt', 'k is not the applicationServerKey of the subscription'],
    );
    const keyless = { ...deviceOf(subscription), keys: undefined };
    assert.deepEqual(await provider.send(keyless, { title: 'Hi' }, signal()), { kind: 'failed', reason: 'webpush: subscription without keys' });
  });

  it('refuses settings that cannot work, naming the setting', () => {
    const mismatched = { publicKey: vapidPair().publicKey, privateKey: pair.privateKey };
    assert.throws(() => createWebPushProvider(settings(mismatched)), (error: unknown) => error instanceof ProviderSettingError && error.setting === 'push.webpush.publicKey');
    const zeroKey = { publicKey: pair.publicKey, privateKey: 'A'.repeat(43) };
    assert.throws(() => createWebPushProvider(settings(zeroKey)), (error: unknown) => error instanceof ProviderSettingError && error.setting === 'push.webpush.privateKey');
    assert.throws(() => createWebPushProvider(pushSchema.parse({})), (error: unknown) => error instanceof ProviderSettingError && error.setting === 'push.webpush');
  });
});

describe('broadcasty keygen --vapid', () => {
  it('prints a VAPID pair as env lines that the settings accept and a push service verifies', async () => {
    const cli = runCli(['keygen', '--vapid']);
    assert.equal(await cli.exited, 0, cli.stderr());
    const lines = Object.fromEntries(cli.stdout().trim().split('\n').map((line) => line.split('=') as [string, string]));
    assert.deepEqual(Object.keys(lines), ['BROADCASTY_PUSH_VAPID_PUBLIC_KEY', 'BROADCASTY_PUSH_VAPID_PRIVATE_KEY']);
    const pair = { publicKey: lines.BROADCASTY_PUSH_VAPID_PUBLIC_KEY!, privateKey: lines.BROADCASTY_PUSH_VAPID_PRIVATE_KEY! };
    const service = await FakeWebPushService.start(pair.publicKey);
    try {
      const subscription = service.subscribe();
      assert.deepEqual(await createWebPushProvider(settings(pair)).send(deviceOf(subscription), { title: 'Hi' }, signal()), { kind: 'sent' });
      assert.equal(service.delivered(subscription.endpoint).length, 1);
    } finally {
      await service.close();
    }
  });

  it('refuses keygen with an unknown option, or with options before it, with exit code 2', async () => {
    const cases = [
      [['keygen', '--rsa'], "Unknown option '--rsa'"],
      [['--debug', 'keygen', '--vapid'], "Unknown option '--vapid'"],
    ] as const;
    // In parallel: each run is mostly the CLI's start-up.
    const runs = cases.map(([args]) => runCli([...args]));
    for (const [i, [args, message]] of cases.entries()) {
      const cli = runs[i]!;
      assert.equal(await cli.exited, 2, args.join(' '));
      assert.ok(cli.stderr().includes(message), cli.stderr());
      assert.equal(cli.stdout(), '');
    }
  });
});
