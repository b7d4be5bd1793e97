// The offline fallback of publishes (docs/PROTOCOL.md §16.5), as a Laravel app sees it: Echo on a
// private user channel (authorized by the SDK, as test/support does) and pusher-js signed in for
// #server-to-user-{id}. A publish carrying `push` reaches connected users as a frame and nobody's
// devices; users with no connection anywhere get exactly one push, through the real OneSignal
// provider to a fake OneSignal API over HTTP — also when the user is connected to another node
// of a Redis cluster than the one that took the publish.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import Echo from 'laravel-echo';
import type PusherServer from 'pusher';
import type { RunningServer } from '../src/server.js';
import { APP, Client, sdk, startNode, until, type Node } from './support/cluster.js';
import { startTestServer } from './support/in-process.js';
import { broadcasty, JWT_APP, jwtApp, mintToken } from './support/jwt.js';
import { FakeOneSignal } from './support/push-fakes/onesignal.js';
import { RedisServer } from './support/redis.js';

const ONESIGNAL_APP_ID = '5eb5a37e-b458-11e3-ac11-000c2940e62c';
const REST_API_KEY = 'os_v2_app_test-rest-api-key';
/** What Laravel broadcasts a notification as (Illuminate\Notifications\Events\BroadcastNotificationCreated::broadcastAs). */
const NOTIFICATION_EVENT = 'Illuminate\\Notifications\\Events\\BroadcastNotificationCreated';
const USER_CHANNEL = (id: string) => `private-App.Models.User.${id}`;

const pushSettings = (fake: FakeOneSignal, userChannels = ['private-App.Models.User.{id}']) => ({
  onesignal: { appId: ONESIGNAL_APP_ID, restApiKey: REST_API_KEY, baseUrl: fake.baseUrl },
  userChannels,
});
/** A JWT principal publishes only on its tenant's channels (§14.3): the user channel names the tenant. */
const PLAIN_APP = { id: 'plain-app', key: 'plain-key', secret: 'plain-secret' };
const TENANT_USER_CHANNEL = 'private-tenant.acme.user.{id}';
/** Members may publish to user channels; only publishers may push with it. */
const PUBLISH_RULES = [
  { channel: 'private-tenant.{tid}.user.*', actions: ['publish'], roles: ['member', 'publisher'] },
  { channel: 'private-tenant.{tid}.user.*', actions: ['push'], roles: ['publisher'] },
];

/** The SDK's signed POST to /apps/{id}{path}; it JSON-encodes `body` itself (its types say string). */
const postSigned = (port: number, path: string, body: object, app = APP) => sdk(port, app).post({ path, body: body as unknown as string });

/** trigger's params: the SDKs pass every field into the body, beyond the two their types name. */
const withPush = (push: Record<string, unknown>) => ({ push }) as PusherServer.TriggerParams;

/** A title (OneSignal's heading, which the checks below read) and a body (its contents). */
const note = (title: string) => ({ title, body: `About: ${title}` });

/** A OneSignal subscription of `userId`, registered by the app's backend (§16.2). */
async function registerDevice(port: number, fake: FakeOneSignal, userId: string, app = APP): Promise<string> {
  const token = randomUUID();
  fake.subscribe(token);
  const reply = await postSigned(port, '/push/devices', { provider: 'onesignal', token, user_id: userId }, app);
  assert.equal(reply.status, 201);
  return token;
}

type PublishAnswer = { push?: { queued: number; error?: string } };

/** A Laravel notification's broadcast as the SDK sends it, with `push` beside it (the SDK passes trigger's params into the body). */
async function notifyUser(port: number, userId: string, title: string): Promise<PublishAnswer> {
  const data = { id: randomUUID(), type: 'App\\Notifications\\OrderShipped', title };
  const reply = await sdk(port).trigger(USER_CHANNEL(userId), NOTIFICATION_EVENT, data, withPush({ title, body: 'Your order is on its way' }));
  return (await reply.json()) as PublishAnswer;
}

/**
 * The request sendToUser sends, with `push` beside it: the SDK's sendToUser takes no extra fields
 * and its trigger refuses "#" in channel names, so the body is posted as sendToUser builds it.
 */
async function sendToUserWithPush(port: number, channels: string[], title: string): Promise<PublishAnswer> {
  const reply = await postSigned(port, '/events', { name: 'note', channels, data: JSON.stringify({ title }), push: note(title) });
  return (await reply.json()) as PublishAnswer;
}

/** Echo (pusher-js underneath, channels signed by the SDK) listening for notifications on the user's private channel. */
async function echoFor(port: number, userId: string): Promise<{ echo: Echo<'pusher'>; client: Client; notifications: { title: string }[] }> {
  const client = await Client.connect(port, { id: userId });
  const echo = new Echo({ broadcaster: 'pusher', key: APP.key, client: client.pusher });
  const notifications: { title: string }[] = [];
  await new Promise<void>((resolve) => {
    echo
      .private(`App.Models.User.${userId}`)
      .subscribed(() => resolve())
      .notification((notification: { title: string }) => notifications.push(notification));
  });
  return { echo, client, notifications };
}

/** Resolves once no socket of the cluster subscribes the user's private channel (the disconnect was processed). */
const vacated = (port: number, userId: string) =>
  until(async () => ((await (await sdk(port).get({ path: `/channels/${USER_CHANNEL(userId)}` })).json()) as { occupied: boolean }).occupied === false, 5000, `${USER_CHANNEL(userId)} vacated`);

/** Resolves once the subscription got `count` pushes in all, and answers their headings. */
async function pushedTitles(fake: FakeOneSignal, token: string, count: number): Promise<string[]> {
  await until(() => fake.deliveredTo(token).length >= count, 10_000, `${count} push(es) to ${token}`);
  return fake.deliveredTo(token).map((body) => (body.headings as { en: string }).en);
}

describe('offline fallback on one node: Echo on private-App.Models.User.{id}, pusher-js signed in for #server-to-user-{id}', () => {
  let fake: FakeOneSignal;
  let server: RunningServer;
  let port: number;

  before(async () => {
    fake = await FakeOneSignal.start(ONESIGNAL_APP_ID, REST_API_KEY);
    server = await startTestServer({ apps: [{ ...APP, push: pushSettings(fake) }, jwtApp({ authMode: 'both', push: pushSettings(fake, [TENANT_USER_CHANNEL]) }, { rules: PUBLISH_RULES }), PLAIN_APP] });
    port = server.port;
  });

  after(async () => {
    await server.shutdown();
    await fake.close();
  });

  it('a user with Echo open gets the notification as a frame and no push; once gone, exactly one push', async () => {
    const device = await registerDevice(port, fake, '42');
    const { echo, notifications } = await echoFor(port, '42');
    assert.deepEqual(await notifyUser(port, '42', 'while online'), { push: { queued: 0 } });
    await until(() => notifications.length === 1, 5000, 'Echo notification');
    assert.equal(notifications[0].title, 'while online');

    echo.disconnect();
    await vacated(port, '42');
    assert.deepEqual(await notifyUser(port, '42', 'while offline'), { push: { queued: 1 } });
    assert.deepEqual(await pushedTitles(fake, device, 1), ['while offline'], 'only the offline publish pushed');
    const [sent] = fake.deliveredTo(device);
    assert.equal((sent.contents as { en: string }).en, 'Your order is on its way');
  });

  it('#server-to-user-{id}: a signed-in user gets the frame and no push; signed out, one push per publish however many of their channels it names', async () => {
    const device = await registerDevice(port, fake, '7');
    const { echo, client } = await echoFor(port, '7');
    const pusher = client.pusher;
    const heard = new Promise((resolve) => pusher.user.bind('note', resolve));
    pusher.signin();
    await pusher.user.signinDonePromise;
    await new Promise((resolve) => pusher.user.serverToUserChannel.bind('pusher:subscription_succeeded', resolve));
    assert.deepEqual(await sendToUserWithPush(port, ['#server-to-user-7'], 'signed in'), { push: { queued: 0 } });
    assert.deepEqual(await heard, { title: 'signed in' });

    echo.disconnect();
    await vacated(port, '7');
    // sendToUser itself carries no push: the answer is Pusher's, and nothing is sent.
    assert.deepEqual(await (await sdk(port).sendToUser('7', 'note', { title: 'plain' })).json(), {});
    const both = await sendToUserWithPush(port, ['#server-to-user-7', USER_CHANNEL('7'), 'news'], 'signed out');
    assert.deepEqual(both, { push: { queued: 1 } });
    assert.deepEqual(await pushedTitles(fake, device, 1), ['signed out']);
  });

  it('batch_events items push each for its own channels; channels that name no user push nothing', async () => {
    const device = await registerDevice(port, fake, '8');
    const batch = [
      { name: 'note', channel: USER_CHANNEL('8'), data: '{}', push: note('first') },
      { name: 'note', channel: 'private-orders', data: '{}', push: note('nobody') },
      { name: 'note', channel: '#server-to-user-8', data: '{}', push: note('second') },
      { name: 'note', channel: USER_CHANNEL('8'), data: '{}' },
    ];
    const reply = await postSigned(port, '/batch_events', { batch });
    assert.deepEqual(await reply.json(), { push: { queued: 2 } });
    assert.deepEqual((await pushedTitles(fake, device, 2)).sort(), ['first', 'second']);
    assert.deepEqual(await (await sdk(port).trigger('private-orders', 'note', {}, withPush(note('nobody')))).json(), { push: { queued: 0 } });
  });

  it("POST /broadcasty/publish with push: the policy's push is needed, and an offline user is pushed once", async () => {
    const device = await registerDevice(port, fake, '9', JWT_APP);
    const body = { channel: TENANT_USER_CHANNEL.replace('{id}', '9'), event: 'note', data: '{}', push: note('from a JWT publisher') };
    const memberToken = await mintToken({ roles: ['member'] });
    const member = await broadcasty(port, 'POST', 'publish', { token: memberToken, body });
    assert.equal(member.status, 403, member.text);
    const { push: _, ...withoutPush } = body;
    assert.equal((await broadcasty(port, 'POST', 'publish', { token: memberToken, body: withoutPush })).status, 200, 'the member may publish without push');
    const publisher = await broadcasty(port, 'POST', 'publish', { token: await mintToken({ roles: ['publisher'] }), body });
    assert.equal(publisher.status, 200, publisher.text);
    assert.deepEqual(publisher.body, { ok: true, push: { queued: 1 } });
    assert.deepEqual(await pushedTitles(fake, device, 1), ['from a JWT publisher']);
  });

  it('refuses a bad push with a 400 naming the field, and push on an app without push settings', async () => {
    const post = (body: Record<string, unknown>, app = APP) => postSigned(port, '/events', { name: 'note', channels: [USER_CHANNEL('42')], data: '{}', ...body }, app);
    await assert.rejects(post({ push: { title: 7 } }), (error: { status: number; body: string }) => error.status === 400 && error.body.includes('push.title'));
    await assert.rejects(post({ push: 'title' }), (error: { status: number; body: string }) => error.status === 400 && error.body.includes('"push"'));
    await assert.rejects(post({ push: { title: 'x'.repeat(5000) } }), (error: { status: number }) => error.status === 413);
    await assert.rejects(post({ push: { title: 'x' } }, PLAIN_APP), (error: { status: number; body: string }) => error.status === 400 && error.body.includes('no push settings'));
    assert.deepEqual(await (await post({ push: null }, PLAIN_APP)).json(), {}, 'push: null is no push');
  });
});

describe('offline fallback across two nodes on one redis-server', () => {
  let fake: FakeOneSignal;
  let redis: RedisServer;
  let nodes: Node[];

  before(async () => {
    fake = await FakeOneSignal.start(ONESIGNAL_APP_ID, REST_API_KEY);
    redis = await RedisServer.start();
    const config = { redisUrl: redis.url, apps: [{ ...APP, push: pushSettings(fake) }] };
    nodes = await Promise.all([startNode(config), startNode(config)]);
  });

  after(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await redis.stop();
    await fake.close();
  });

  it('a user connected to node B gets no push from a publish on node A; offline everywhere, one push from the cluster', async () => {
    const [a, b] = nodes;
    const device = await registerDevice(a.port, fake, '42');
    const { echo, client, notifications } = await echoFor(b.port, '42');
    assert.deepEqual(await notifyUser(a.port, '42', 'online on B'), { push: { queued: 0 } });
    await until(() => notifications.length === 1, 5000, 'Echo notification on node B');

    const pusher = client.pusher;
    pusher.signin();
    await pusher.user.signinDonePromise;
    await new Promise((resolve) => pusher.user.serverToUserChannel.bind('pusher:subscription_succeeded', resolve));
    assert.deepEqual(await sendToUserWithPush(a.port, ['#server-to-user-42'], 'signed in on B'), { push: { queued: 0 } });

    echo.disconnect();
    await vacated(a.port, '42');
    assert.deepEqual(await notifyUser(a.port, '42', 'offline'), { push: { queued: 1 } });
    assert.deepEqual(await pushedTitles(fake, device, 1), ['offline']);
    // A later publish through the other node: the queue sent the first push once, not once per node.
    assert.deepEqual(await sendToUserWithPush(b.port, ['#server-to-user-42'], 'offline again'), { push: { queued: 1 } });
    assert.deepEqual(await pushedTitles(fake, device, 2), ['offline', 'offline again']);
  });
});
