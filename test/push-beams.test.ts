// The Pusher Beams publish API (docs/PROTOCOL.md §16.4). @pusher/push-notifications-server is not
// a dependency (and its one dependency, jsonwebtoken, is not installed), so these tests send the
// exact requests its publishToUsers / publishToInterests send with `endpoint` set (plain http;
// push-notifications.js 1.2.7 `_doRequest`): POST, the path, Accept, Authorization: Bearer
// <secret>, X-Pusher-Library, a JSON body of the publish request plus `users` or `interests`. The
// answers are read as the SDK reads them: 2xx → the parsed body; otherwise `error` and
// `description` must both be present (the SDK rejects with "Could not parse response body" if not).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningServer } from '../src/server.js';
import { APP, sdk, until } from './support/cluster.js';
import { startTestServer } from './support/in-process.js';
import { signed } from './support/push.js';
import { FakeFcm, type FcmReceived } from './support/push-fakes/fcm.js';

const SECRET_KEY = 'beams-secret-key-0123456789';
const SDK_VERSION = '1.2.7';

interface BeamsAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** What the Node SDK sends for publishToUsers / publishToInterests(names, publishRequest). */
async function beamsPublish(port: number, target: 'users' | 'interests', names: unknown, publishRequest: Record<string, unknown>, options: { instanceId?: string; secretKey?: string; body?: string } = {}): Promise<BeamsAnswer> {
  const { instanceId = APP.id, secretKey = SECRET_KEY } = options;
  const body = options.body ?? JSON.stringify({ ...publishRequest, [target]: names });
  const response = await fetch(`http://127.0.0.1:${port}/publish_api/v1/instances/${instanceId}/publishes/${target}`, {
    method: 'POST',
    headers: {
      Accept: 'application/json',
      Authorization: `Bearer ${secretKey}`,
      'X-Pusher-Library': `pusher-push-notifications-node ${SDK_VERSION}`,
      'Content-Type': 'application/json',
    },
    body,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** A Beams error as the SDKs need it: both fields, strings. */
function assertBeamsError(answer: BeamsAnswer, status: number, description: RegExp): void {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  assert.deepEqual(Object.keys(answer.body).sort(), ['description', 'error']);
  assert.equal(typeof answer.body.error, 'string');
  assert.match(answer.body.description as string, description);
}

const WEB = { web: { notification: { title: 'Hello', body: 'From Beams' } } };

describe('Beams publish API: errors as Beams sends them', () => {
  let server: RunningServer;
  let port: number;

  before(async () => {
    server = await startTestServer({
      apps: [
        { ...APP, push: { beams: { secretKey: SECRET_KEY } } },
        { id: 'no-beams', key: 'no-beams-key', secret: 'no-beams-secret', push: {} },
      ],
    });
    port = server.port;
  });

  after(() => server.shutdown());

  it('401 for a wrong or missing secret key', async () => {
    assertBeamsError(await beamsPublish(port, 'users', ['42'], WEB, { secretKey: 'not-the-secret-key-at-all' }), 401, /secret key/i);
    assertBeamsError(await beamsPublish(port, 'users', ['42'], WEB, { secretKey: SECRET_KEY.slice(0, -1) }), 401, /secret key/i);
    const unsigned = await fetch(`http://127.0.0.1:${port}/publish_api/v1/instances/${APP.id}/publishes/users`, { method: 'POST', body: JSON.stringify({ users: ['42'], ...WEB }) });
    assertBeamsError({ status: unsigned.status, body: (await unsigned.json()) as Record<string, unknown> }, 401, /Authorization/);
  });

  it('404 for an unknown instance, and for an app without push.beams', async () => {
    assertBeamsError(await beamsPublish(port, 'interests', ['news'], WEB, { instanceId: 'no-such-app' }), 404, /no-such-app/);
    assertBeamsError(await beamsPublish(port, 'interests', ['news'], WEB, { instanceId: 'no-beams' }), 404, /push\.beams/);
  });

  it('400 for a body Beams would refuse, naming what is wrong; 413 for a platform payload over 4 KB', async () => {
    const cases: [string, 'users' | 'interests', unknown, Record<string, unknown>, RegExp, string?][] = [
      ['not JSON', 'users', [], {}, /JSON/, '{"users": ['],
      ['no users', 'users', [], WEB, /Missing "users"/],
      ['a user id that is not a string', 'users', [42], WEB, /user ids are strings/],
      ['too many users', 'users', Array.from({ length: 1001 }, (_, i) => String(i)), WEB, /at most 1000/],
      ['an interest with a forbidden character', 'interests', ['bad|interest'], WEB, /Invalid "interests": names of 1-164 characters/],
      ['no platform payload', 'interests', ['news'], {}, /at least one of "web", "fcm" and "apns"/],
      ['web that is not an object', 'interests', ['news'], { web: 'hello' }, /"web" must be a JSON object/],
      ['a deep_link that is not a URL', 'interests', ['news'], { web: { notification: { deep_link: 'javascript:alert(1)' } } }, /web\.notification\.deep_link/],
      ['apns without aps', 'interests', ['news'], { apns: { data: {} } }, /apns\.aps/],
      ['an fcm priority Beams does not know', 'interests', ['news'], { fcm: { priority: 'urgent' } }, /fcm\.priority/],
    ];
    for (const [what, target, names, request, description, body] of cases) {
      const answer = await beamsPublish(port, target, names, request, { body });
      assert.equal(answer.status, 400, what);
      assertBeamsError(answer, 400, description);
    }
    assertBeamsError(await beamsPublish(port, 'interests', ['news'], { web: { data: { blob: 'x'.repeat(5000) } } }), 413, /at most 4096 bytes/);
  });

  it('the Pusher API of the same app is unchanged: its errors stay plain text', async () => {
    const reply = await fetch(`http://127.0.0.1:${port}/apps/${APP.id}/events`, { method: 'POST', body: '{}' });
    assert.equal(reply.status, 401);
    assert.equal(reply.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.ok((await sdk(port).get({ path: '/channels' })).ok);
  });
});

describe('Beams publish API: publishes reach the registered devices through the providers', () => {
  let fcm: FakeFcm;
  let server: RunningServer;
  let port: number;
  let phoneOf42: string;
  let phoneOf7: string;

  /** An FCM device registered by the app's backend (§16.2): Beams' users and interests are these. */
  async function registerPhone(userId: string, interests: string[]): Promise<string> {
    const token = fcm.register();
    const reply = await signed(port, APP, 'POST', 'push/devices', { provider: 'fcm', token, user_id: userId, interests });
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
    return token;
  }

  async function deliveredTo(token: string, count: number): Promise<FcmReceived[]> {
    await until(() => fcm.delivered(token).length >= count, 10_000, `${count} FCM message(s)`);
    return fcm.delivered(token);
  }

  before(async () => {
    fcm = await FakeFcm.start();
    server = await startTestServer({ apps: [{ ...APP, push: { beams: { secretKey: SECRET_KEY }, fcm: { serviceAccount: fcm.serviceAccount(), baseUrl: fcm.baseUrl } } }] });
    port = server.port;
    phoneOf42 = await registerPhone('42', ['news']);
    phoneOf7 = await registerPhone('7', ['sports']);
  });

  after(async () => {
    await server.shutdown();
    await fcm.close();
  });

  it('publishToUsers: the fcm payload (Beams\' legacy FCM shape) reaches the user\'s FCM devices as an HTTP v1 message', async () => {
    const answer = await beamsPublish(port, 'users', ['42'], {
      fcm: {
        notification: { title: 'Order shipped', body: 'Your order #7 is on its way', icon: 'ic_stat_box', android_channel_id: 'orders' },
        data: { order: 7, status: 'shipped' },
        time_to_live: 3600,
        collapse_key: 'order-7',
        priority: 'high',
      },
      // Payloads for platforms the user has no device on (and the app no provider for) go nowhere.
      apns: { aps: { alert: { title: 'Order shipped', body: '…' } } },
      webhookUrl: 'https://example.com/beams-webhook',
    });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(Object.keys(answer.body), ['publishId']);
    assert.match(answer.body.publishId as string, /^pubid-[0-9a-f-]{36}$/);
    const [received] = await deliveredTo(phoneOf42, 1);
    assert.deepEqual(received.message, {
      token: phoneOf42,
      notification: { title: 'Order shipped', body: 'Your order #7 is on its way' },
      data: { order: '7', status: 'shipped' },
      android: { ttl: '3600s', collapse_key: 'order-7', priority: 'high', notification: { icon: 'ic_stat_box', channel_id: 'orders' } },
    });
    assert.equal(fcm.delivered(phoneOf7).length, 0, "another user's device got nothing");
  });

  it('publishToInterests: devices following the interest get it, once each', async () => {
    const answer = await beamsPublish(port, 'interests', ['sports', 'sports', 'weather'], { fcm: { notification: { title: 'Goal!' } } });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const received = await deliveredTo(phoneOf7, 1);
    assert.equal(received.length, 1);
    assert.deepEqual(received[0].message.notification, { title: 'Goal!' });
    assert.equal((received[0].message.android as { priority?: string }).priority, 'normal', "Beams' default priority");
    assert.equal(fcm.delivered(phoneOf42).length, 1, 'the news follower got only the earlier publish');
  });
});
