// The SDK's publish side against a real server (docs/PROTOCOL.md §13.5, §14.5–§14.7): the outbox
// with httpPublisher sends each publish once, in order; what is published offline, or while the
// server is down, waits in the store and goes out on flush with its idempotency key; a full
// queue drops by its policy; a 401 gets one fresh token; a plain hmac app is `unsupported`; the
// file store keeps the queue across a process "restart".
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { randomId } from '../client/sdk/ids.js';
import { fileStore } from '../client/sdk/file-store.js';
import { Outbox, type OutboxOptions } from '../client/sdk/outbox.js';
import { httpPublisher } from '../client/sdk/publish-http.js';
import { offlineStore } from '../client/sdk/stores/index.js';
import { BroadcastyClient } from '../client/sdk/client.js';
import { BroadcastyError, type OfflineStore, type QueuedPublish } from '../client/sdk/types.js';
import type { RunningServer } from '../src/server.js';
import { APP, until } from './support/cluster.js';
import { RawClient, startTestServer, type Frame } from './support/in-process.js';
import { subscribeRaw } from './support/jwt-clients.js';
import { JWT_APP, jwtApp, mintToken } from './support/jwt.js';
import { scratchDir } from './support/scratch.js';

const ORDERS = 'private-tenant.acme.orders';
const LOG = 'private-tenant.acme.log';
const APPS = [{ ...APP }, jwtApp({ history: [{ channels: [LOG] }] })];
/** The uws transport still answers requests on kept-alive connections after shutdown(): the outage test needs a server that is gone. */
const SERVER = { apps: APPS, transport: 'node' };

const publisherToken = () => mintToken({ sub: 'writer', roles: ['member', 'publisher'] });

/** What the client would give the outbox: a token (fresh on refresh) and a switchable online flag. */
class TestHost {
  online = true;
  readonly asked: boolean[] = [];
  constructor(private readonly tokens: (refresh: boolean) => Promise<string | null> = publisherToken) {}
  token(refresh: boolean): Promise<string | null> {
    this.asked.push(refresh);
    return this.tokens(refresh);
  }
}

let counter = 0;
/** A queued publish as the client builds it: the payload JSON-encoded once, a fresh id. */
function entry(event: string, payload: unknown = { n: ++counter }, channel = ORDERS): QueuedPublish {
  return { id: randomId(), channel, event, data: JSON.stringify(payload), queuedAt: Date.now() };
}

describe('SDK outbox and httpPublisher against a server', () => {
  let server: RunningServer;
  let port: number;
  const sockets: RawClient[] = [];

  const send = (appKey = JWT_APP.key) => httpPublisher({ url: `http://127.0.0.1:${port}`, appKey, fetch });

  function outbox(options: Partial<OutboxOptions> & { host: TestHost }): { outbox: Outbox; dropped: QueuedPublish[]; storeErrors: unknown[] } {
    const dropped: QueuedPublish[] = [];
    const storeErrors: unknown[] = [];
    const made = new Outbox({
      store: offlineStore('memory', 'test'),
      maxEntries: 1000,
      dropPolicy: 'oldest',
      send: send(),
      timeoutMs: 10_000,
      onDropped: (e) => dropped.push(e),
      onStoreError: (error) => storeErrors.push(error),
      ...options,
    });
    return { outbox: made, dropped, storeErrors };
  }

  async function subscriber(channel = ORDERS): Promise<RawClient> {
    const client = await RawClient.connect(port, JWT_APP.key);
    sockets.push(client);
    await client.established();
    const answer = await subscribeRaw(client, channel, await mintToken({ sub: 'reader', roles: ['member'] }));
    assert.equal(answer.event, 'pusher_internal:subscription_succeeded', JSON.stringify(answer));
    return client;
  }

  /** Publishes a marker through the server and waits for it: everything sent before it has arrived. */
  async function settled(client: RawClient): Promise<Frame[]> {
    const marker = entry('marker');
    await send()(marker, await publisherToken(), 10_000);
    await client.next((f) => f.event === 'marker' && (JSON.parse(f.data as string) as { n: number }).n === JSON.parse(marker.data).n, 10_000);
    return client.frames;
  }

  const eventsOf = (frames: Frame[], prefix: string) => frames.filter((f) => f.event.startsWith(prefix)).map((f) => [f.event, JSON.parse(f.data as string)]);

  before(async () => {
    server = await startTestServer(SERVER);
    port = server.port;
  });

  after(async () => {
    for (const socket of sockets) socket.close();
    await server.shutdown();
  });

  it('online with nothing waiting: a publish goes out at once and arrives once, with its position on a history channel', async () => {
    const client = await subscriber();
    const log = await subscriber(LOG);
    const { outbox: box } = outbox({ host: new TestHost() });
    assert.deepEqual(await box.publish(entry('direct.one', 'text')), {});
    const logged = await box.publish(entry('logged', { at: 1 }, LOG));
    assert.equal(logged.position?.offset, 1);
    assert.equal(box.size(), 0, 'nothing stored');
    assert.deepEqual(eventsOf(await settled(client), 'direct.'), [['direct.one', 'text']]);
    const frame = await log.next((f) => f.event === 'logged', 10_000);
    assert.equal(log.text(frame), `{"event":"logged","data":"{\\"at\\":1}","channel":"${LOG}","offset":1,"epoch":"${logged.position!.epoch}"}`);
  });

  it('the same entry sent twice (a lost answer, then the resend) is delivered once', async () => {
    const client = await subscriber();
    const once = entry('twice.sent');
    const first = await send()(once, await publisherToken(), 10_000);
    const resend = await send()(once, await publisherToken(), 10_000);
    assert.deepEqual([first, resend], [{}, {}]);
    assert.equal(eventsOf(await settled(client), 'twice.').length, 1);
  });

  it('offline: publishes are stored, nothing is sent; back online, flush delivers them in order and resolves each', async () => {
    const client = await subscriber();
    const host = new TestHost();
    host.online = false;
    const { outbox: box } = outbox({ host });
    const sent = [box.publish(entry('offline.a', 1)), box.publish(entry('offline.b', 2)), box.publish(entry('offline.c', 3))];
    await until(() => box.size() === 3, 10_000, 'three stored');
    // The token is read (not refreshed) only to note whose entries they are.
    assert.ok(!host.asked.includes(true), 'nothing sent');
    host.online = true;
    await box.flush();
    assert.deepEqual(await Promise.all(sent), [{}, {}, {}]);
    assert.equal(box.size(), 0);
    assert.deepEqual(eventsOf(await settled(client), 'offline.'), [['offline.a', 1], ['offline.b', 2], ['offline.c', 3]]);
  });

  it('a publish while older entries wait goes out behind them', async () => {
    const client = await subscriber();
    const host = new TestHost();
    host.online = false;
    const { outbox: box } = outbox({ host });
    const older = box.publish(entry('behind.older', 1));
    await until(() => box.size() === 1, 10_000, 'one stored');
    host.online = true;
    await box.publish(entry('behind.newer', 2));
    await older;
    assert.deepEqual(eventsOf(await settled(client), 'behind.'), [['behind.older', 1], ['behind.newer', 2]]);
  });

  it('server down: the network failure keeps the entry (promise pending); server back, flush delivers it once', async () => {
    const host = new TestHost();
    const { outbox: box } = outbox({ host, timeoutMs: 3000 });
    await server.shutdown();
    let outcome: unknown;
    const pending = box.publish(entry('outage.kept', 'kept')).then((result) => (outcome = result));
    await until(() => box.size() === 1, 10_000, 'stored after the failed attempt');
    await box.flush();
    assert.deepEqual([box.size(), outcome], [1, undefined], 'flush stopped at the retryable failure');

    server = await startTestServer({ ...SERVER, port });
    const client = await subscriber();
    await box.flush();
    await pending;
    assert.deepEqual(outcome, {});
    assert.equal(box.size(), 0);
    await box.flush();
    assert.deepEqual(eventsOf(await settled(client), 'outage.'), [['outage.kept', 'kept']]);
  });

  for (const dropPolicy of ['oldest', 'newest'] as const) {
    it(`a full queue with dropPolicy ${dropPolicy}: the ${dropPolicy} entry is rejected with dropped and reported; the rest are sent`, async () => {
      const client = await subscriber();
      const host = new TestHost();
      host.online = false;
      const { outbox: box, dropped } = outbox({ host, maxEntries: 2, dropPolicy });
      const entries = [entry(`full-${dropPolicy}.a`, 'a'), entry(`full-${dropPolicy}.b`, 'b'), entry(`full-${dropPolicy}.c`, 'c')];
      const outcomes = entries.map((e) => box.publish(e).then(() => 'sent', (error: BroadcastyError) => error.code));
      const victim = dropPolicy === 'oldest' ? entries[0] : entries[2];
      await until(() => dropped.length === 1, 10_000, 'one dropped');
      assert.equal(dropped[0].id, victim.id);
      assert.equal(box.size(), 2);
      host.online = true;
      await box.flush();
      const kept = entries.filter((e) => e !== victim);
      assert.deepEqual(await Promise.all(outcomes), entries.map((e) => (e === victim ? 'dropped' : 'sent')));
      assert.deepEqual(eventsOf(await settled(client), `full-${dropPolicy}.`), kept.map((e) => [e.event, JSON.parse(e.data)]));
    });
  }

  it('maxEntries 0 (no offline queue): an offline publish is dropped at once, whatever the policy', async () => {
    for (const dropPolicy of ['oldest', 'newest'] as const) {
      const host = new TestHost();
      host.online = false;
      const { outbox: box, dropped } = outbox({ host, maxEntries: 0, dropPolicy });
      await assert.rejects(box.publish(entry('unqueued')), (error: BroadcastyError) => error.code === 'dropped' && /offline queue is full \(0 entries/.test(error.message));
      assert.deepEqual([dropped.length, box.size()], [1, 0]);
    }
  });

  it('a 401 gets one fresh token and then succeeds; a second 401 rejects with unauthorized', async () => {
    const expired = await mintToken({ sub: 'writer', roles: ['publisher'] }, { expiresIn: -60 });
    const host = new TestHost(async (refresh) => (refresh ? publisherToken() : expired));
    const { outbox: box } = outbox({ host });
    assert.deepEqual(await box.publish(entry('refreshed')), {});
    // The first read notes whose publish it is, the second is the attempt's.
    assert.deepEqual(host.asked, [false, false, true]);

    const stale = new TestHost(async () => expired);
    const { outbox: refused } = outbox({ host: stale });
    await assert.rejects(refused.publish(entry('refused')), (error: BroadcastyError) => error.code === 'unauthorized' && error.status === 401 && /token expired/.test(error.message));
    assert.deepEqual([stale.asked, refused.size()], [[false, false, true], 0]);
  });

  it('non-retryable answers reject at once and are not stored: 403 forbidden, 400 bad_request, a plain hmac app unsupported', async () => {
    const member = new TestHost(() => mintToken({ sub: 'reader', roles: ['member'] }));
    const { outbox: box } = outbox({ host: member });
    await assert.rejects(box.publish(entry('forbidden')), (error: BroadcastyError) => error.code === 'forbidden' && error.status === 403);
    const { outbox: writer } = outbox({ host: new TestHost() });
    await assert.rejects(writer.publish(entry('bad', 'x', 'bad channel!')), (error: BroadcastyError) => error.code === 'bad_request' && /channel/i.test(error.message));
    const { outbox: hmac } = outbox({ host: new TestHost(), send: send(APP.key) });
    await assert.rejects(hmac.publish(entry('hmac')), (error: BroadcastyError) => error.code === 'unsupported' && /plain Pusher server, or the app is in hmac mode/.test(error.message));
    assert.deepEqual([box.size(), writer.size(), hmac.size()], [0, 0, 0]);
  });

  it('close rejects pending publishes with closed and keeps them stored for the next client', async () => {
    const store = offlineStore('memory', 'closing');
    const host = new TestHost();
    host.online = false;
    const { outbox: box } = outbox({ host, store });
    const pending = box.publish(entry('closing'));
    await until(() => box.size() === 1, 10_000, 'stored');
    box.close();
    await assert.rejects(pending, (error: BroadcastyError) => error.code === 'closed');
    await assert.rejects(box.publish(entry('after-close')), (error: BroadcastyError) => error.code === 'closed');
    assert.deepEqual((await store.load()).map((e) => e.event), ['closing']);
  });

  it('file store: entries survive a restart (a new store and outbox on the same file) and go out on the first flush', async () => {
    const client = await subscriber();
    const path = join(scratchDir('sdk-outbox'), 'queue', 'outbox.json');
    const host = new TestHost();
    host.online = false;
    const { outbox: before } = outbox({ host, store: fileStore(path) });
    const pending = [before.publish(entry('restart.a', 'a')), before.publish(entry('restart.b', 'b'))];
    await until(() => before.size() === 2, 10_000, 'two stored');
    before.close();
    for (const publish of pending) await assert.rejects(publish, (error: BroadcastyError) => error.code === 'closed');

    const reloaded: OfflineStore = fileStore(path);
    assert.deepEqual((await reloaded.load()).map((e) => e.event), ['restart.a', 'restart.b']);
    const online = new TestHost();
    const { outbox: after, dropped } = outbox({ host: online, store: reloaded });
    await after.flush();
    assert.equal(after.size(), 0);
    assert.deepEqual(await fileStore(path).load(), [], 'the file is empty after the flush');
    assert.deepEqual(dropped, []);
    assert.deepEqual(eventsOf(await settled(client), 'restart.'), [['restart.a', 'a'], ['restart.b', 'b']]);
  });

  it('file store: a file that is not a JSON array is reported naming it and left alone; publishes still go out', async () => {
    const client = await subscriber();
    const path = join(scratchDir('sdk-outbox'), 'broken.json');
    writeFileSync(path, '{not json');
    await assert.rejects(fileStore(path).load(), /offline queue file .*broken\.json is not JSON/);
    const { outbox: box, storeErrors } = outbox({ host: new TestHost(), store: fileStore(path) });
    await box.publish(entry('broken.store', 1));
    assert.match(String(storeErrors[0]), /broken\.json is not JSON/);
    assert.deepEqual(eventsOf(await settled(client), 'broken.'), [['broken.store', 1]]);
  });

  it('one store, two users: A’s offline entries are neither sent with B’s token nor dropped; A’s next session sends them', async () => {
    const client = await subscriber();
    const store = offlineStore('memory', 'shared-browser');
    const tokenOf = (sub: string) => () => mintToken({ sub, roles: ['member', 'publisher'] });
    const alice = new TestHost(tokenOf('alice'));
    alice.online = false;
    const { outbox: aliceBox } = outbox({ host: alice, store });
    void aliceBox.publish(entry('user.alice', 1)).catch(() => undefined);
    void aliceBox.publish(entry('user.alice', 2)).catch(() => undefined);
    await until(() => aliceBox.size() === 2, 10_000, 'two stored');
    aliceBox.close();

    // Alice logged out, Bob logged in on the same browser: his flush and his publish skip her entries.
    const { outbox: bobBox } = outbox({ host: new TestHost(tokenOf('bob')), store });
    await bobBox.flush();
    assert.deepEqual(await bobBox.publish(entry('user.bob', 3)), {});
    assert.deepEqual(eventsOf(await settled(client), 'user.'), [['user.bob', 3]]);
    assert.deepEqual((await store.load()).map((e) => [e.event, e.subject]), [['user.alice', '["acme","alice"]'], ['user.alice', '["acme","alice"]']]);
    bobBox.close();

    // An anonymous client does not send them either; Alice's next session does.
    const { outbox: anonymousBox } = outbox({ host: new TestHost(async () => null), store });
    await anonymousBox.flush();
    anonymousBox.close();
    const { outbox: aliceAgain } = outbox({ host: new TestHost(tokenOf('alice')), store });
    await aliceAgain.flush();
    assert.equal(aliceAgain.size(), 0);
    assert.deepEqual(eventsOf(await settled(client), 'user.'), [['user.bob', 3], ['user.alice', 1], ['user.alice', 2]]);
  });

  it('clearOffline() empties the queue at logout: the waiting publish rejects with dropped, the store is empty', async () => {
    const store = offlineStore('memory', 'logout');
    // Nothing listens on port 1: the client stays offline and the publish waits in the queue.
    const client = new BroadcastyClient({ url: 'http://127.0.0.1:1', appKey: JWT_APP.key, transport: 'poll', getToken: publisherToken, offline: { store } });
    try {
      const pending = client.publish({ channel: ORDERS, event: 'logout.left', payload: 1 });
      await until(() => client.stats().queuedPublishes === 1, 10_000, 'queued');
      await client.clearOffline();
      await assert.rejects(pending, (error: BroadcastyError) => error.code === 'dropped' && /clearOffline/.test(error.message));
      assert.deepEqual(await store.load(), []);
      assert.equal(client.stats().queuedPublishes, 0);
    } finally {
      client.disconnect();
    }
  });

  it('a 503 while online is retried after its Retry-After without a reconnect or another publish: the promise resolves, delivered once', async () => {
    const client = await subscriber();
    let posts = 0;
    // The first answer is the server's overload answer; the rest go to the real server.
    const overloadedOnce: typeof fetch = (input, init) =>
      ++posts === 1 ? Promise.resolve(new Response('{"error":"busy"}', { status: 503, headers: { 'retry-after': '1' } })) : fetch(input, init);
    const { outbox: box } = outbox({ host: new TestHost(), send: httpPublisher({ url: `http://127.0.0.1:${port}`, appKey: JWT_APP.key, fetch: overloadedOnce }) });
    try {
      assert.deepEqual(await box.publish(entry('busy.once', 'once')), {});
      assert.equal(posts, 2);
      // Settled as the server took it; the store forgets it right after.
      await until(() => box.size() === 0, 10_000, 'removed from the queue');
      assert.deepEqual(eventsOf(await settled(client), 'busy.'), [['busy.once', 'once']]);
    } finally {
      box.close();
    }
  });
});
