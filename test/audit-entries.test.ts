// The audit log as an operator reads it (docs/PROTOCOL.md §17.4): a server writing its file
// sink, and the entry each audited action leaves there — publishes through the `pusher` SDK, a
// JWT publish and a client event (actor, channel, event, size, no data unless audit.payloads),
// presence joins and leaves, refused signatures and tokens, admin actions. Webhook and push
// outcomes reach a plain ActivitySink (the console's stream), not the audit log.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Activity, ActivitySink } from '../src/activity/types.js';
import type { AuditEntry } from '../src/audit/entry.js';
import { deviceId } from '../src/api/push-registration.js';
import type { RunningServer } from '../src/server.js';
import { APP, rawSubscriber, sdk, until } from './support/cluster.js';
import { RawClient, startTestServer } from './support/in-process.js';
import { broadcasty, JWT_APP, jwtApp, mintToken } from './support/jwt.js';
import { FakeOneSignal } from './support/push-fakes/onesignal.js';
import { isRefused, SseStream } from './support/sse-client.js';
import { scratchDir } from './support/scratch.js';
import { WebhookReceiver } from './support/webhook-receiver.js';

const WAIT_MS = 15_000;
const ORDERS = 'private-tenant.acme.orders';

function readEntries(file: string): AuditEntry[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as AuditEntry);
}

/** Polls until `check` finds something. */
async function found<T>(what: string, check: () => T | undefined): Promise<T> {
  return (await until(check, WAIT_MS, what))!;
}

/** Polls the file until an entry matches. */
const entry = (file: string, what: string, match: (e: AuditEntry) => boolean) => found(what, () => readEntries(file).find(match));

const activity = <K extends Activity['kind']>(seen: Activity[], kind: K, outcome: string) =>
  found(`${kind} ${outcome}`, () => seen.find((a): a is Extract<Activity, { kind: K }> => a.kind === kind && 'outcome' in a && a.outcome === outcome));

/** What the console's stream would see: every activity of the kinds it taps. */
class Recorder implements ActivitySink {
  readonly seen: Activity[] = [];
  constructor(readonly kinds: readonly Activity['kind'][]) {}
  accept(activity: Activity): void {
    this.seen.push(activity);
  }
}

describe('audit entries (file sink)', () => {
  let server: RunningServer;
  let file: string;
  const sockets: RawClient[] = [];

  before(async () => {
    file = join(scratchDir('audit-entries'), 'audit.log');
    server = await startTestServer({ apps: [{ ...APP }, jwtApp()], audit: { sink: 'file', file, flushMs: 50 } });
  });
  after(async () => {
    for (const socket of sockets) socket.close();
    await server.shutdown();
  });

  it('an HTTP API publish through the pusher SDK: actor app, channel, event, bytes, no data', async () => {
    await sdk(server.port).trigger('orders', 'order.placed', { id: 'secret-order-data' });
    const found = await entry(file, 'publish entry', (e) => e.kind === 'publish' && e.event === 'order.placed');
    const data = JSON.stringify({ id: 'secret-order-data' });
    assert.deepEqual({ ...found, at: undefined }, {
      at: undefined,
      app_id: APP.id,
      kind: 'publish',
      actor: 'app',
      channel: 'orders',
      event: 'order.placed',
      bytes: Buffer.byteLength(data),
      detail: { source: 'http' },
    });
    assert.ok(!Number.isNaN(Date.parse(found.at)) && found.at.endsWith('Z'), found.at);
    assert.ok(!readFileSync(file, 'utf8').includes('secret-order-data'), 'the payload is not written');
  });

  it('a JWT publish names the token subject as actor', async () => {
    const token = await mintToken({ sub: 'writer', roles: ['member', 'publisher'] });
    const reply = await broadcasty(server.port, 'POST', 'publish', { token, body: { channel: ORDERS, event: 'order.shipped', data: { n: 1 } } });
    assert.equal(reply.status, 200, reply.text);
    const found = await entry(file, 'JWT publish entry', (e) => e.kind === 'publish' && e.event === 'order.shipped');
    assert.equal(found.app_id, JWT_APP.id);
    assert.equal(found.channel, ORDERS);
    assert.match(found.actor!, /^user:.*writer$/);
    assert.equal(found.bytes, Buffer.byteLength('{"n":1}'));
    assert.equal(found.detail.data, undefined);
  });

  it('a client event names the sending socket as actor', async () => {
    const client = await RawClient.connect(server.port);
    sockets.push(client);
    const socketId = await client.established();
    client.send({ event: 'pusher:subscribe', data: { channel: 'private-chat', ...sdk(server.port).authorizeChannel(socketId, 'private-chat') } });
    await client.next((f) => f.event === 'pusher_internal:subscription_succeeded');
    client.send({ event: 'client-typing', channel: 'private-chat', data: { typing: true } });
    const found = await entry(file, 'client event entry', (e) => e.kind === 'publish' && e.event === 'client-typing');
    assert.deepEqual([found.actor, found.channel, found.bytes, found.detail], [socketId, 'private-chat', Buffer.byteLength('{"typing":true}'), { source: 'client' }]);
  });

  it('presence join and leave: the member user id', async () => {
    const member = await rawSubscriber(server.port, ['presence-room'], 'user-42');
    const joined = await entry(file, 'member_added entry', (e) => e.kind === 'member_added' && e.channel === 'presence-room');
    assert.deepEqual([joined.app_id, joined.detail], [APP.id, { userId: 'user-42' }]);
    member.close();
    const left = await entry(file, 'member_removed entry', (e) => e.kind === 'member_removed' && e.channel === 'presence-room');
    assert.deepEqual(left.detail, { userId: 'user-42' });
  });

  it('a bad subscribe signature: surface subscribe, the reason the client got, channel, ip, socket id; never the signature', async () => {
    const client = await RawClient.connect(server.port);
    sockets.push(client);
    const socketId = await client.established();
    const signature = `${APP.key}:${'ab'.repeat(32)}`;
    client.send({ event: 'pusher:subscribe', data: { channel: 'private-vault', auth: signature } });
    const error = await client.next((f) => f.event === 'pusher:error' || f.event === 'pusher:subscription_error');
    const found = await entry(file, 'subscribe auth_failure', (e) => e.kind === 'auth_failure' && e.channel === 'private-vault');
    assert.equal(found.actor, socketId);
    assert.equal(found.app_id, APP.id);
    assert.equal(found.detail.surface, 'subscribe');
    assert.equal(found.detail.ip, '127.0.0.1');
    const told = String((error.data as { message?: string }).message ?? JSON.parse(String(error.data)).error);
    assert.equal(found.detail.reason, told.replace(/but got .*$/, 'but got (withheld)'), 'the message the client got, its signature withheld');
    assert.ok(!readFileSync(file, 'utf8').includes('ab'.repeat(32)), 'the signature is not written');
  });

  it('a refusal quoting what the client sent keeps at most 256 characters of it', async () => {
    const client = await RawClient.connect(server.port);
    sockets.push(client);
    await client.established();
    client.send({ event: 'pusher:subscribe', data: { channel: 'private-long', auth: `${'k'.repeat(5000)}:sig` } });
    await client.next((f) => f.event === 'pusher:error' || f.event === 'pusher:subscription_error');
    const found = await entry(file, 'long auth_failure', (e) => e.kind === 'auth_failure' && e.channel === 'private-long');
    const reason = String(found.detail.reason);
    assert.equal(reason.length, 256);
    assert.ok(reason.startsWith("Invalid key in subscription auth data: 'kkk") && reason.endsWith('k…'), reason);
  });

  it('a refused pusher:signin: surface signin, actor the socket', async () => {
    const client = await RawClient.connect(server.port);
    sockets.push(client);
    const socketId = await client.established();
    client.send({ event: 'pusher:signin', data: { auth: `${APP.key}:${'cd'.repeat(32)}`, user_data: '{"id":"mallory"}' } });
    await client.next((f) => f.event === 'pusher:error');
    const found = await entry(file, 'signin auth_failure', (e) => e.kind === 'auth_failure' && e.detail.surface === 'signin');
    assert.deepEqual([found.app_id, found.actor, found.detail.ip], [APP.id, socketId, '127.0.0.1']);
    assert.ok(!readFileSync(file, 'utf8').includes('cd'.repeat(32)), 'the signature is not written');
  });

  it('a bad HTTP API signature: surface http, the 401 message', async () => {
    const forged = sdk(server.port, { ...APP, secret: 'not-the-secret' });
    await assert.rejects(forged.trigger('orders', 'forged', {}), (error: { status?: number }) => error.status === 401);
    const found = await entry(file, 'http auth_failure', (e) => e.kind === 'auth_failure' && e.detail.surface === 'http');
    assert.match(String(found.detail.reason), /^Invalid signature: .*but you sent \(withheld\)$/);
    assert.equal(found.app_id, APP.id);
    assert.equal(found.detail.ip, '127.0.0.1');
    assert.equal(typeof found.detail.reason, 'string');
    assert.ok(!readFileSync(file, 'utf8').includes('forged'), 'a refused publish leaves no publish entry');
  });

  it("a JWT publish the policy denies: the 403's reason, channel and token subject", async () => {
    const token = await mintToken({ sub: 'reader', roles: ['member'] });
    const reply = await broadcasty(server.port, 'POST', 'publish', { token, body: { channel: ORDERS, event: 'denied', data: {} } });
    assert.equal(reply.status, 403, reply.text);
    const found = await entry(file, 'policy auth_failure', (e) => e.kind === 'auth_failure' && e.channel === ORDERS);
    assert.equal(found.detail.surface, 'http');
    assert.equal(found.detail.reason, reply.body.error);
    assert.match(found.actor!, /^user:.*reader$/);
  });

  it('a bad JWT on SSE: the 401 the stream answered, never the token', async () => {
    const token = `${await mintToken({ sub: 'intruder' }, { secret: new TextEncoder().encode('some-other-secret-of-32-bytes-or-more') })}`;
    const answer = await SseStream.open(server.port, { app: JWT_APP.key, channel: 'news', token });
    assert.ok(isRefused(answer), 'refused');
    assert.equal(answer.status, 401);
    const found = await entry(file, 'SSE auth_failure', (e) => e.kind === 'auth_failure' && e.app_id === JWT_APP.id && e.detail.surface === 'connect');
    assert.equal(found.detail.reason, answer.body.error);
    assert.equal(found.detail.ip, '127.0.0.1');
    assert.ok(!readFileSync(file, 'utf8').includes(token.split('.')[2]!), 'the token is not written');
  });

  it('an admin action: action, actor, target', async () => {
    server.ctx.activity.emit({ kind: 'admin', appId: APP.id, action: 'terminate', actor: 'admin', target: 'user-7', ip: '10.0.0.9' });
    const found = await entry(file, 'admin entry', (e) => e.kind === 'admin');
    assert.deepEqual({ ...found, at: undefined }, {
      at: undefined,
      app_id: APP.id,
      kind: 'admin',
      actor: 'admin',
      channel: null,
      event: null,
      bytes: null,
      detail: { action: 'terminate', target: 'user-7', ip: '10.0.0.9' },
    });
  });

  it('keeps no unaudited kind (subscribe, webhook, push)', async () => {
    await until(() => readEntries(file).some((e) => e.kind === 'admin'), WAIT_MS, 'earlier entries');
    const kinds = new Set(readEntries(file).map((e) => e.kind));
    for (const kind of ['subscribe', 'unsubscribe', 'webhook', 'push']) assert.ok(!kinds.has(kind as AuditEntry['kind']), kind);
  });
});

describe('audit entries of repeated auth failures', () => {
  it('at most 60 a minute per address, then one summary; the tap still sees every one', async () => {
    const file = join(scratchDir('audit-auth-limit'), 'audit.log');
    const server = await startTestServer({ apps: [{ ...APP }], audit: { sink: 'file', file, flushMs: 50, payloads: false } });
    const tap = new Recorder(['auth_failure']);
    server.ctx.activity.add(tap);
    try {
      const forged = sdk(server.port, { ...APP, secret: 'not-the-secret' });
      for (let n = 0; n < 70; n++) await assert.rejects(forged.trigger('orders', 'forged', {}), (error: { status?: number }) => error.status === 401);
      assert.equal(tap.seen.length, 70);
    } finally {
      await server.shutdown();
    }
    const failures = readEntries(file).filter((e) => e.kind === 'auth_failure');
    assert.equal(failures.length, 61);
    assert.deepEqual(failures.at(-1)!.detail, { surface: 'http', reason: '10 more auth failures from this address suppressed', ip: '127.0.0.1' });
  });
});

describe('audit entries with audit.payloads', () => {
  it('a publish entry carries the data as delivered', async () => {
    const file = join(scratchDir('audit-payloads'), 'audit.log');
    const server = await startTestServer({ apps: [{ ...APP }], audit: { sink: 'file', file, flushMs: 50, payloads: true } });
    try {
      await sdk(server.port).trigger('orders', 'order.placed', { id: 9 });
      const found = await entry(file, 'publish entry', (e) => e.kind === 'publish');
      assert.equal(found.detail.data, '{"id":9}');
    } finally {
      await server.shutdown();
    }
  });
});

describe('webhook and push activity', () => {
  let receiver: WebhookReceiver;
  let onesignal: FakeOneSignal;
  let server: RunningServer;
  const recorder = new Recorder(['webhook', 'push']);
  const HOOK_APP = { id: 'hook-app', key: 'hook-key', secret: 'hook-secret' };

  before(async () => {
    receiver = await WebhookReceiver.start([HOOK_APP]);
    onesignal = await FakeOneSignal.start(randomUUID(), 'rest-api-key');
    const push = { onesignal: { appId: onesignal.appId, restApiKey: onesignal.restApiKey, baseUrl: onesignal.baseUrl } };
    // Slack- and Discord-style URLs: the path is the receiver's secret.
    const webhooks = [{ url: `${receiver.url('/hooks/T0/B0/path-secret')}?token=receiver-secret` }, { url: 'http://127.0.0.1:1/api/webhooks/42/path-secret?token=receiver-secret' }];
    server = await startTestServer({ apps: [{ ...HOOK_APP, webhooks, push }], webhookRetryWindowMs: 0, webhookDelayMs: 0 });
    server.ctx.activity.add(recorder);
  });
  after(async () => {
    await server.shutdown();
    await receiver.close();
    await onesignal.close();
  });

  it('a webhook answered 2xx is sent, one that cannot be delivered failed: url as scheme and host only, event names', async () => {
    const client = await rawSubscriber(server.port, ['lobby'], undefined, HOOK_APP);
    try {
      const sent = await activity(recorder.seen, 'webhook', 'sent');
      const failed = await activity(recorder.seen, 'webhook', 'failed');
      assert.deepEqual({ ...sent, at: undefined }, { kind: 'webhook', appId: HOOK_APP.id, outcome: 'sent', url: new URL(receiver.url('/')).origin, events: ['channel_occupied'], status: 200, at: undefined });
      assert.deepEqual({ ...failed, at: undefined }, { kind: 'webhook', appId: HOOK_APP.id, outcome: 'failed', url: 'http://127.0.0.1:1', events: ['channel_occupied'], error: 'network error', at: undefined });
    } finally {
      client.close();
    }
    assert.ok(!JSON.stringify(recorder.seen).includes('path-secret'), 'no path reaches the activity');
  });

  it('a push the provider accepted is sent, one it refused failed: the target, never the device token', async () => {
    const app = server.ctx.config.apps[0]!;
    const token = randomUUID();
    onesignal.subscribe(token);
    const device = { id: deviceId('onesignal', token), appId: app.id, provider: 'onesignal' as const, token, userId: 'user-5', interests: [], createdAt: Date.now() };
    await server.ctx.push.send(app, [device], { title: 'Hi', body: 'there' });
    const sent = await activity(recorder.seen, 'push', 'sent');
    assert.deepEqual({ ...sent, at: undefined }, { kind: 'push', appId: app.id, outcome: 'sent', provider: 'onesignal', target: 'user:user-5', at: undefined });

    onesignal.answerNext({ status: 400, body: { errors: ['Message Notifications must have English language content'] } });
    const follower = { ...device, id: deviceId('onesignal', `${token}-2`), token: `${token}-2`, userId: undefined, interests: ['news'] };
    await server.ctx.push.send(app, [follower], { title: 'Hi', body: 'again' });
    const failed = await activity(recorder.seen, 'push', 'failed');
    assert.equal(failed.target, 'interest:news');
    assert.equal(typeof failed.error, 'string');
    assert.ok(!JSON.stringify(recorder.seen).includes(token), 'no device token in the activity');
  });
});
