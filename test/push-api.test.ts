// The push endpoints (docs/PROTOCOL.md §16.2, §16.3) over HTTP: registration with a JWT and
// signed, tenancy and the policy, maxDevicesPerUser, bad input, Web Push endpoints limited to
// push services (push.webpush.endpointHosts), and sends that reach the fake OneSignal API through
// the real OneSignal provider — retried after a 503 with Retry-After, and a dead subscription
// removed from the registry.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { HttpError } from '../src/api/reply.js';
import { ConfigError, loadConfig } from '../src/config/load.js';
import { generateVapidKeys } from '../src/push/providers/webpush.js';
import { parseRegistration } from '../src/api/push-registration.js';
import { startServer, type RunningServer } from '../src/server.js';
import { until } from './support/cluster.js';
import { startTestServer } from './support/in-process.js';
import { broadcasty, JWT_APP, jwtApp, mintToken } from './support/jwt.js';
import { FakeOneSignal } from './support/push-fakes/onesignal.js';
import { signed } from './support/push.js';

const PLAIN_APP = { id: 'plain-app', key: 'plain-key', secret: 'plain-secret' };
/** What a browser's PushSubscription.toJSON() carries beside its endpoint. */
const SUBSCRIPTION_KEYS = { p256dh: Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 7)]).toString('base64url'), auth: Buffer.alloc(16, 1).toString('base64url') };

describe('push endpoints', () => {
  let server: RunningServer;
  let onesignal: FakeOneSignal;
  let port: number;
  let alice: string;
  let bob: string;
  let publisher: string;

  before(async () => {
    onesignal = await FakeOneSignal.start(randomUUID(), 'rest-api-key');
    const push = {
      onesignal: { appId: onesignal.appId, restApiKey: onesignal.restApiKey, baseUrl: onesignal.baseUrl },
      webpush: { ...generateVapidKeys(), subject: 'mailto:ops@shop.example' },
      maxDevicesPerUser: 2,
    };
    server = await startTestServer({ apps: [jwtApp({ push }), PLAIN_APP], logLevel: process.env.LOGLEVEL ?? 'silent' });
    port = server.port;
    alice = await mintToken({ sub: 'alice' });
    bob = await mintToken({ sub: 'bob' });
    publisher = await mintToken({ sub: 'backend', roles: ['publisher'] });
  });
  after(async () => {
    await server.shutdown();
    await onesignal.close();
  });

  const registerOwn = (token: string, body: unknown) => broadcasty(port, 'POST', 'push/devices', { token, body });
  const listOwn = async (token: string) => (await broadcasty(port, 'GET', 'push/devices', { token })).body.devices as { id: string; interests: string[] }[];
  const metric = async (name: string) => (await server.ctx.metrics.registry.getSingleMetricAsString(name)).split('\n').find((l) => l.startsWith(`${name}{`));

  it('registers a device for the token user (201, then 200), lists it, and deletes it (204, then 404)', async () => {
    const token = randomUUID();
    const first = await registerOwn(alice, { provider: 'onesignal', token, interests: ['tenant.acme.news'] });
    assert.equal(first.status, 201, first.text);
    assert.deepEqual(first.body, { id: first.body.id, provider: 'onesignal', user_id: 'acme.alice', interests: ['tenant.acme.news'] });
    const again = await registerOwn(alice, { provider: 'onesignal', token, interests: [] });
    assert.equal(again.status, 200);
    assert.equal(again.body.id, first.body.id);
    const listed = await listOwn(alice);
    assert.deepEqual(listed.map((d) => [d.id, d.interests]), [[first.body.id, []]]);
    assert.equal(JSON.stringify(listed).includes(token), false, 'tokens are not echoed');
    assert.deepEqual(await listOwn(bob), []);
    assert.equal((await broadcasty(port, 'DELETE', `push/devices/${first.body.id as string}`, { token: bob })).status, 404);
    assert.equal((await broadcasty(port, 'DELETE', `push/devices/${first.body.id as string}`, { token: alice })).status, 204);
    assert.equal((await broadcasty(port, 'DELETE', `push/devices/${first.body.id as string}`, { token: alice })).status, 404);
  });

  it("refuses an interest of another tenant (403) and a DELETE without a nonce (401)", async () => {
    const reply = await registerOwn(alice, { provider: 'onesignal', token: randomUUID(), interests: ['tenant.other.news'] });
    assert.equal(reply.status, 403);
    assert.match(reply.body.error as string, /another tenant/);
    assert.equal((await broadcasty(port, 'DELETE', 'push/devices/x', { token: alice, headers: {} })).status, 401);
    const preflight = await broadcasty(port, 'OPTIONS', 'push/devices/x', { headers: { origin: 'https://app.example', 'access-control-request-method': 'DELETE' } });
    assert.equal(preflight.status, 204);
    assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /DELETE/);
  });

  it('keeps maxDevicesPerUser devices, dropping the oldest', async () => {
    const carol = await mintToken({ sub: 'carol' });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await registerOwn(carol, { provider: 'onesignal', token: randomUUID() })).body.id as string);
    assert.deepEqual((await listOwn(carol)).map((d) => d.id), ids.slice(1));
  });

  it('answers bad registrations with 400 naming the field', async () => {
    const cases: [unknown, RegExp][] = [
      [{ provider: 'pigeon', token: 'x' }, /"provider"/],
      [{ provider: 'fcm', token: 'abc' }, /fcm is not configured for this app \(push\.fcm\)/],
      [{ provider: 'onesignal', token: 'not-a-uuid' }, /"token": a OneSignal subscription id/],
      [{ provider: 'onesignal', token: randomUUID(), interests: ['bad interest'] }, /"interests"/],
      [{ provider: 'onesignal', token: randomUUID(), interests: 'news' }, /"interests"/],
    ];
    for (const [body, message] of cases) {
      const reply = await registerOwn(alice, body);
      assert.equal(reply.status, 400, JSON.stringify(body));
      assert.match(reply.body.error as string, message);
    }
    const unsigned = await signed(port, JWT_APP, 'POST', 'push/devices', { provider: 'onesignal', token: randomUUID(), user_id: 7 });
    assert.equal(unsigned.status, 400);
    assert.match(unsigned.body.error as string, /"user_id"/);
  });

  it("takes a Web Push endpoint of the browsers' push services only: never an address, another host or port (400)", async () => {
    const register = (endpoint: string) => registerOwn(alice, { provider: 'webpush', subscription: { endpoint, expirationTime: null, keys: SUBSCRIPTION_KEYS } });
    const refused: [string, RegExp][] = [
      ['https://127.0.0.1:1/wpush/v2/x', /not an IP address/],
      ['https://0x7f.1/wpush/v2/x', /not an IP address/],
      ['https://[::1]/wpush/v2/x', /not an IP address/],
      ['https://169.254.169.254/latest/meta-data', /not an IP address/],
      ['https://localhost/wpush/v2/x', /push\.webpush\.endpointHosts: fcm\.googleapis\.com, /],
      ['https://redis.internal/x', /push\.webpush\.endpointHosts/],
      ['https://fcm.googleapis.com.attacker.example/fcm/send/x', /push\.webpush\.endpointHosts/],
      ['https://notify.windows.com/w/?token=x', /push\.webpush\.endpointHosts/],
      ['https://fcm.googleapis.com:8443/fcm/send/x', /on the default port/],
      ['https://user:pass@fcm.googleapis.com/fcm/send/x', /without user or password/],
      ['http://fcm.googleapis.com/fcm/send/x', /an https: URL/],
    ];
    for (const [endpoint, message] of refused) {
      const reply = await register(endpoint);
      assert.equal(reply.status, 400, endpoint);
      assert.match(reply.body.error as string, /^Invalid "subscription\.endpoint": /, endpoint);
      assert.match(reply.body.error as string, message, endpoint);
    }
    for (const endpoint of ['https://fcm.googleapis.com/fcm/send/abc:APA91b', 'https://wns2-par02p.notify.windows.com/w/?token=BQYAAA', 'https://web.push.apple.com/QGuQyavXuT', 'https://fcm.googleapis.com:443/fcm/send/def']) {
      const reply = await register(endpoint);
      assert.equal(reply.status, 201, `${endpoint}: ${reply.text}`);
    }
  });

  it('answers 404 for apps without push', async () => {
    assert.equal((await signed(port, PLAIN_APP, 'POST', 'push/devices', { provider: 'onesignal', token: randomUUID() })).status, 404);
    assert.equal((await signed(port, PLAIN_APP, 'POST', 'push', { users: ['1'], notification: { title: 't' } })).status, 404);
  });

  it('registers, lists and deletes for the backend, signed (DELETE too)', async () => {
    const created = await signed(port, JWT_APP, 'POST', 'push/devices', { provider: 'onesignal', token: randomUUID(), user_id: 'u-9', interests: ['news'] });
    assert.equal(created.status, 201);
    assert.equal(created.body.user_id, 'u-9');
    const listed = await signed(port, JWT_APP, 'GET', 'users/u-9/push/devices');
    assert.deepEqual((listed.body.devices as { id: string }[]).map((d) => d.id), [created.body.id]);
    assert.equal((await signed(port, JWT_APP, 'DELETE', `push/devices/${created.body.id as string}`)).status, 204);
    assert.equal((await signed(port, JWT_APP, 'DELETE', `push/devices/${created.body.id as string}`)).status, 404);
    const interestOnly = await signed(port, JWT_APP, 'POST', 'push/devices', { provider: 'onesignal', token: randomUUID(), interests: ['news'] });
    assert.equal(interestOnly.status, 201);
    assert.equal(interestOnly.body.user_id, null);
  });

  it('sends to users and interests through OneSignal, each device once (202)', async () => {
    const [phone, tablet] = [randomUUID(), randomUUID()];
    for (const token of [phone, tablet]) onesignal.subscribe(token);
    await signed(port, JWT_APP, 'POST', 'push/devices', { provider: 'onesignal', token: phone, user_id: 'dave', interests: ['tenant.acme.orders'] });
    await signed(port, JWT_APP, 'POST', 'push/devices', { provider: 'onesignal', token: tablet, interests: ['tenant.acme.orders'] });
    const notification = { title: 'Order shipped', body: 'Your order #7 is on its way', url: 'https://shop.example/orders/7', data: { order: 7 } };
    const reply = await signed(port, JWT_APP, 'POST', 'push', { users: ['dave'], interests: ['tenant.acme.orders'], notification });
    assert.equal(reply.status, 202);
    assert.equal(reply.body.devices, 2);
    assert.match(reply.body.publish_id as string, /./);
    await until(() => onesignal.deliveredTo(phone).length > 0, 5000, 'the phone got it');
    const [sent] = onesignal.deliveredTo(phone);
    assert.deepEqual([sent!.headings, sent!.contents, sent!.url], [{ en: 'Order shipped' }, { en: 'Your order #7 is on its way' }, 'https://shop.example/orders/7']);
    await until(() => onesignal.deliveredTo(tablet).length === 1, 5000, 'the tablet got it');
    assert.equal(onesignal.deliveredTo(phone).length, 1);
  });

  it('sends with a JWT when the policy allows push there (403 otherwise)', async () => {
    const token = randomUUID();
    onesignal.subscribe(token);
    await registerOwn(alice, { provider: 'onesignal', token, interests: ['tenant.acme.sale'] });
    const body = { interests: ['tenant.acme.sale'], notification: { title: 'Sale', body: 'Today only' } };
    assert.equal((await broadcasty(port, 'POST', 'push', { token: alice, body })).status, 403);
    assert.equal((await broadcasty(port, 'POST', 'push', { token: publisher, body: { ...body, interests: ['tenant.other.sale'] } })).status, 403);
    const reply = await broadcasty(port, 'POST', 'push', { token: publisher, body });
    assert.equal(reply.status, 202, reply.text);
    assert.equal(reply.body.devices, 1);
    await until(() => onesignal.deliveredTo(token).length === 1, 5000, 'delivered');
  });

  it("sends with a JWT to its own tenant's users, never to another tenant's (§14.3)", async () => {
    const token = randomUUID();
    onesignal.subscribe(token);
    await registerOwn(bob, { provider: 'onesignal', token });
    const notification = { title: 'Hello', body: 'Bob' };
    const other = await broadcasty(port, 'POST', 'push', { token: publisher, body: { users: ['other.bob'], notification } });
    assert.deepEqual([other.status, other.body.error], [403, 'channel belongs to another tenant']);
    const reply = await broadcasty(port, 'POST', 'push', { token: publisher, body: { users: ['acme.bob'], notification } });
    assert.equal(reply.status, 202, reply.text);
    await until(() => onesignal.deliveredTo(token).length === 1, 5000, 'delivered to bob');
  });

  it('answers bad sends with 400 naming the field', async () => {
    const cases: [unknown, RegExp][] = [
      [{ notification: { title: 't' } }, /"users" or "interests"/],
      [{ users: ['1'], notification: { urgency: 'now' } }, /"notification\.urgency"/],
      [{ users: ['1'], notification: { url: 'ftp://x' } }, /"notification\.url"/],
      [{ users: ['1'], notification: { collapse_key: 'a b' } }, /"notification\.collapse_key"/],
      [{ users: ['1'], notification: { ttl_seconds: -1 } }, /"notification\.ttl_seconds"/],
      [{ users: ['1'] }, /"notification"/],
    ];
    for (const [body, message] of cases) {
      const reply = await signed(port, JWT_APP, 'POST', 'push', body);
      assert.equal(reply.status, 400, JSON.stringify(body));
      assert.match(reply.body.error as string, message);
    }
    const large = await signed(port, JWT_APP, 'POST', 'push', { users: ['1'], notification: { body: 'x'.repeat(4096) } });
    assert.equal(large.status, 413);
  });

  it('retries after a 503 with Retry-After, and removes a device whose subscription is gone', async () => {
    const token = randomUUID();
    onesignal.subscribe(token);
    await signed(port, JWT_APP, 'POST', 'push/devices', { provider: 'onesignal', token, user_id: 'erin' });
    onesignal.answerNext({ status: 503, headers: { 'Retry-After': '1' }, body: { errors: ['busy'] } });
    assert.equal((await signed(port, JWT_APP, 'POST', 'push', { users: ['erin'], notification: { title: 'Hi', body: 'there' } })).body.devices, 1);
    await until(() => onesignal.deliveredTo(token).length === 1, 8000, 'delivered after the retry');
    assert.match((await metric('broadcasty_push_retried_total')) ?? '', /app_id="jwt-app",provider="onesignal"\} 1$/);

    const gone = randomUUID();
    const device = await signed(port, JWT_APP, 'POST', 'push/devices', { provider: 'onesignal', token: gone, user_id: 'frank' });
    await signed(port, JWT_APP, 'POST', 'push', { users: ['frank'], notification: { title: 'Hi', body: 'there' } });
    await until(async () => (await signed(port, JWT_APP, 'GET', 'users/frank/push/devices')).body.devices?.toString() === '', 5000, 'the dead device removed');
    assert.equal((await signed(port, JWT_APP, 'DELETE', `push/devices/${device.body.id as string}`)).status, 404);
    assert.match((await metric('broadcasty_push_removed_total')) ?? '', /\} 1$/);
  });
});

describe('push provider settings at start', () => {
  it('refuses to start when a provider setting cannot work, naming it', async () => {
    const config = loadConfig({
      env: {},
      overrides: {
        host: '127.0.0.1',
        port: 0,
        logLevel: 'silent',
        apps: [{ ...PLAIN_APP, push: { apns: { keyFile: '/nonexistent/AuthKey.p8', keyId: 'ABC123DEFG', teamId: 'DEF123GHIJ', topic: 'com.example.app' } } }],
      },
    });
    await assert.rejects(startServer(config), /Invalid setting push\.apns\.keyFile: cannot read \/nonexistent\/AuthKey\.p8/);
  });
});

describe('registration bodies per provider', () => {
  // Every provider configured (the settings are only looked at, no provider is built).
  const push = {
    webpush: { publicKey: 'B'.repeat(87), privateKey: 'k'.repeat(43), subject: 'mailto:ops@example.com', endpointHosts: ['push.example', '*.Push.Example'] },
    fcm: { serviceAccount: '{}', baseUrl: 'https://fcm.googleapis.com' },
    apns: { key: 'k', keyId: 'ABC123DEFG', teamId: 'DEF123GHIJ', topic: 'com.example.app', baseUrl: 'https://a', sandboxBaseUrl: 'https://b' },
    onesignal: { appId: randomUUID(), restApiKey: 'k', baseUrl: 'https://api.onesignal.com' },
  };
  const app = loadConfig({ env: {}, overrides: { apps: [{ ...PLAIN_APP, push }] } }).apps[0]!;
  const { p256dh, auth } = SUBSCRIPTION_KEYS;

  it('takes what each provider gives, one device per token', () => {
    const web = parseRegistration(app, { provider: 'webpush', subscription: { endpoint: 'https://push.example/e/1', expirationTime: null, keys: { p256dh, auth } } }, 'u');
    assert.deepEqual([web.token, web.keys, web.userId], ['https://push.example/e/1', { p256dh, auth }, 'u']);
    assert.equal(parseRegistration(app, { provider: 'webpush', subscription: { endpoint: 'https://eu.push.example/e/2', keys: { p256dh, auth } } }, 'u').token, 'https://eu.push.example/e/2');
    const apns = parseRegistration(app, { provider: 'apns', token: 'AB'.repeat(32), sandbox: true }, undefined);
    assert.deepEqual([apns.token, apns.sandbox, apns.userId], ['ab'.repeat(32), true, undefined]);
    assert.equal(parseRegistration(app, { provider: 'fcm', token: 'abc:DEF_1-2.3' }, 'u').id, parseRegistration(app, { provider: 'fcm', token: 'abc:DEF_1-2.3' }, 'v').id);
  });

  it('refuses a bad token or subscription with 400 naming the field', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ provider: 'webpush', subscription: { endpoint: 'http://push.example/e', keys: { p256dh, auth } } }, /"subscription\.endpoint": an https: URL/],
      [{ provider: 'webpush', subscription: { endpoint: `https://push.example/${'e'.repeat(2048)}`, keys: { p256dh, auth } } }, /"subscription\.endpoint"/],
      [{ provider: 'webpush', subscription: { endpoint: 'https://push.example/e', keys: { p256dh: auth, auth } } }, /"subscription\.keys\.p256dh": base64url of a 65-byte/],
      [{ provider: 'webpush', subscription: { endpoint: 'https://push.example/e', keys: { p256dh, auth: p256dh } } }, /"subscription\.keys\.auth": base64url of 16 bytes/],
      [{ provider: 'webpush', token: 'x' }, /"subscription"/],
      // endpointHosts replaces the browsers' list.
      [{ provider: 'webpush', subscription: { endpoint: 'https://fcm.googleapis.com/fcm/send/x', keys: { p256dh, auth } } }, /endpointHosts: push\.example, \*\.push\.example\)/],
      [{ provider: 'webpush', subscription: { endpoint: 'https://evilpush.example/e', keys: { p256dh, auth } } }, /"subscription\.endpoint"/],
      [{ provider: 'fcm', token: 'has space' }, /"token": an FCM registration token/],
      [{ provider: 'fcm', token: 'x'.repeat(4097) }, /"token": an FCM registration token/],
      [{ provider: 'apns', token: 'ab'.repeat(20) }, /"token": an APNs device token \(64-200 hex/],
      [{ provider: 'apns', token: 'zz'.repeat(32) }, /"token": an APNs device token/],
      [{ provider: 'apns', token: 'ab'.repeat(32), sandbox: 'yes' }, /"sandbox"/],
      [{ provider: 'onesignal', token: 'player-1' }, /"token": a OneSignal subscription id \(a UUID\)/],
    ];
    for (const [body, message] of cases) {
      assert.throws(
        () => parseRegistration(app, body, 'u'),
        (error: unknown) => error instanceof HttpError && error.status === 400 && message.test(error.message),
        JSON.stringify(body).slice(0, 100),
      );
    }
  });
});

describe('push.webpush.endpointHosts', () => {
  const vapid = { BROADCASTY_PUSH_VAPID_PUBLIC_KEY: 'B'.repeat(87), BROADCASTY_PUSH_VAPID_PRIVATE_KEY: 'k'.repeat(43), BROADCASTY_PUSH_VAPID_SUBJECT: 'mailto:ops@example.com' };
  const env = { BROADCASTY_APP_ID: 'env-app', BROADCASTY_APP_KEY: 'env-key', BROADCASTY_APP_SECRET: 'env-secret', ...vapid };

  it("defaults to the browsers' push services, and is read from BROADCASTY_PUSH_VAPID_ENDPOINT_HOSTS (lower-cased)", () => {
    const hosts = (extra: Record<string, string>) => loadConfig({ env: { ...env, ...extra } }).apps[0]!.push!.webpush!.endpointHosts;
    assert.deepEqual(hosts({}), ['fcm.googleapis.com', 'android.googleapis.com', 'updates.push.services.mozilla.com', '*.notify.windows.com', 'web.push.apple.com', '*.push.apple.com']);
    assert.deepEqual(hosts({ BROADCASTY_PUSH_VAPID_ENDPOINT_HOSTS: 'Push.Example, *.push.example' }), ['push.example', '*.push.example']);
  });

  it('refuses an address, a port or a URL in the list, naming the setting', () => {
    for (const bad of ['127.0.0.1', '[::1]', 'push.example:8443', 'https://push.example', '*.', 'push.*.example']) {
      assert.throws(
        () => loadConfig({ env: { ...env, BROADCASTY_PUSH_VAPID_ENDPOINT_HOSTS: bad } }),
        (error: unknown) => error instanceof ConfigError && /BROADCASTY_PUSH_VAPID_ENDPOINT_HOSTS\[0\]/.test(error.message) && /no IP addresses, no port/.test(error.message),
        bad,
      );
    }
  });
});
