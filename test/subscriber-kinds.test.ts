// Every subscriber kind gets what a WebSocket gets: a WebSocket client and a TEST-ONLY in-process
// subscriber (a ClientSocket without native topics, kept by the hub itself) on the same public,
// private and presence channels receive byte-identical frames from the same publishes, exclude
// each other by socket_id, exchange client events, see each other join and leave, are signed in,
// terminated, pinged, closed as slow consumers and counted against quotas alike.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import PusherServer from 'pusher';
import { signChannel, signUser } from '../protocol/index.js';
import type { RunningServer } from '../src/server.js';
import type { Frame } from './support/frame-log.js';
import { RawClient, startTestServer } from './support/in-process.js';
import { InProcessSubscriber } from './support/in-process-subscriber.js';

const APP = { id: 'app-id', key: 'app-key', secret: 'app-secret' };
const SHORT = { id: 'short-id', key: 'short-key', secret: 'short-secret', activityTimeout: 1, pongTimeout: 1 };
const SINGLE = { id: 'single-id', key: 'single-key', secret: 'single-secret', maxConnections: 1 };
const BACKPRESSURE_LIMIT = 64 * 1024;

let server: RunningServer;
let sdk: PusherServer;

before(async () => {
  server = await startTestServer({ apps: [APP, SHORT, SINGLE], maxBackpressureBytes: BACKPRESSURE_LIMIT });
  sdk = new PusherServer({ appId: APP.id, key: APP.key, secret: APP.secret, host: '127.0.0.1', port: String(server.port), useTLS: false });
});
after(() => server.shutdown());

type Client = RawClient | InProcessSubscriber;

function write(client: Client, frame: unknown): void {
  if (client instanceof RawClient) client.send(frame);
  else client.write(frame);
}

/** The next non-internal frame on the channel (an event, a client event, a member change). */
const onChannel = (channel: string, event?: string) => (f: Frame) =>
  f.channel === channel && (event === undefined ? !f.event.startsWith('pusher:') : f.event === event);

/** Waits for the matching frame on every client and asserts they arrived as the same bytes. */
async function sameOnAll(clients: Client[], predicate: (f: Frame) => boolean): Promise<string> {
  const texts = await Promise.all(clients.map(async (c) => c.text(await c.next(predicate))));
  for (const text of texts.slice(1)) assert.equal(text, texts[0]);
  return texts[0];
}

async function subscribe(client: Client, socketId: string, channel: string, channelData?: string): Promise<string> {
  const auth = channel.startsWith('private-') || channel.startsWith('presence-') ? signChannel(APP.key, APP.secret, socketId, channel, channelData) : undefined;
  write(client, { event: 'pusher:subscribe', data: { channel, auth, channel_data: channelData } });
  return client.text(await client.next((f) => f.channel === channel && f.event.endsWith('subscription_succeeded')));
}

async function signIn(client: Client, socketId: string, userId: string): Promise<void> {
  const userData = JSON.stringify({ id: userId });
  write(client, { event: 'pusher:signin', data: { auth: signUser(APP.key, APP.secret, socketId, userData), user_data: userData } });
  await client.next((f) => f.event === 'pusher:signin_success');
}

async function connectBoth(key = APP.key): Promise<{ ws: RawClient; wsId: string; local: InProcessSubscriber; localId: string }> {
  const ws = await RawClient.connect(server.port, key);
  const local = InProcessSubscriber.connect(server, key);
  return { ws, wsId: await ws.established(), local, localId: await local.established() };
}

/** Bounds a wait that would otherwise hang the run. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms)));
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

describe('a WebSocket and an in-process subscriber on the same channels', () => {
  it('public channel: the same frames, socket_id exclusion of either kind, unsubscribe stops delivery', async () => {
    const { ws, wsId, local, localId } = await connectBoth();
    assert.equal(await subscribe(ws, wsId, 'news'), await subscribe(local, localId, 'news'));

    await sdk.trigger('news', 'headline', { n: 1 });
    await sameOnAll([ws, local], onChannel('news'));

    await sdk.trigger('news', 'not-for-ws', { n: 2 }, { socket_id: wsId });
    await sdk.trigger('news', 'not-for-local', { n: 3 }, { socket_id: localId });
    await sdk.trigger('news', 'for-both', { n: 4 });
    assert.equal((await local.next(onChannel('news'))).event, 'not-for-ws');
    assert.equal((await ws.next(onChannel('news'))).event, 'not-for-local');
    await sameOnAll([ws, local], onChannel('news'));
    assert.deepEqual([...ws.frames, ...local.frames], []);

    write(local, { event: 'pusher:unsubscribe', data: { channel: 'news' } });
    await subscribe(local, localId, 'after');
    await sdk.trigger('news', 'gone', {});
    await sdk.trigger('after', 'marker', {});
    assert.equal((await ws.next(onChannel('news'))).event, 'gone');
    assert.equal((await local.next((f) => !f.event.startsWith('pusher'))).event, 'marker');
    ws.close();
    local.disconnect();
  });

  it('private channel: client events pass between the kinds as a WebSocket would see them, never echoed', async () => {
    const { ws, wsId, local, localId } = await connectBoth();
    const witness = await RawClient.connect(server.port);
    const witnessId = await witness.established();
    for (const [client, id] of [[ws, wsId], [local, localId], [witness, witnessId]] as const) await subscribe(client, id, 'private-chat');

    write(ws, { event: 'client-typing', channel: 'private-chat', data: { from: 'ws' } });
    await sameOnAll([local, witness], onChannel('private-chat', 'client-typing'));
    write(local, { event: 'client-reply', channel: 'private-chat', data: { from: 'local' } });
    await sameOnAll([ws, witness], onChannel('private-chat', 'client-reply'));

    await sdk.trigger('private-chat', 'marker', {});
    assert.equal((await ws.next(onChannel('private-chat'))).event, 'marker');
    assert.equal((await local.next(onChannel('private-chat'))).event, 'marker');
    for (const client of [ws, witness]) client.close();
    local.disconnect();
  });

  it('presence channel: roster, member_added and member_removed reach both kinds alike', async () => {
    const { ws, wsId, local, localId } = await connectBoth();
    const member = (id: string) => JSON.stringify({ user_id: id, user_info: { name: id } });
    await subscribe(ws, wsId, 'presence-room', member('ws-user'));
    const joined = JSON.parse(await subscribe(local, localId, 'presence-room', member('local-user'))) as { data: string };
    assert.deepEqual((JSON.parse(joined.data) as { presence: { ids: string[] } }).presence.ids.sort(), ['local-user', 'ws-user']);
    assert.deepEqual(JSON.parse((await ws.next(onChannel('presence-room'))).data as string), { user_id: 'local-user', user_info: { name: 'local-user' } });

    const third = await RawClient.connect(server.port);
    await subscribe(third, await third.established(), 'presence-room', member('third-user'));
    // The joiner is excluded from its own member_added, whatever its kind: local's next is third's.
    const added = await sameOnAll([ws, local], onChannel('presence-room'));
    assert.match(added, /member_added.*third-user/);

    local.disconnect();
    const removed = await sameOnAll([ws, third], onChannel('presence-room'));
    assert.match(removed, /member_removed.*local-user/);
    third.close();
    assert.match(ws.text(await ws.next(onChannel('presence-room'))), /member_removed.*third-user/);
    ws.close();
  });

  it('signed-in users: sendToUser reaches both kinds, terminate_connections closes both with the same frames', async () => {
    const { ws, wsId, local, localId } = await connectBoth();
    await signIn(ws, wsId, 'carol');
    await signIn(local, localId, 'carol');
    const other = await RawClient.connect(server.port);
    await signIn(other, await other.established(), 'dave');

    await sdk.sendToUser('carol', 'note', { text: 'hi' });
    await sameOnAll([ws, local], onChannel('#server-to-user-carol', 'note'));

    await sdk.terminateUserConnections('carol');
    const error = await sameOnAll([ws, local], (f) => f.event === 'pusher:error');
    assert.match(error, /4009/);
    assert.equal((await within(ws.closed, 3000, 'ws close')).code, 4009);
    assert.equal((await within(local.closed, 3000, 'in-process close')).code, 4009);

    await sdk.sendToUser('dave', 'still-here', {});
    await other.next(onChannel('#server-to-user-dave', 'still-here'));
    other.close();
  });
});

describe('liveness, slow consumers and quotas for the in-process kind', () => {
  it('an idle subscriber gets the same pusher:ping as a WebSocket, then 4201 when it never answers', async () => {
    const { ws, local } = await connectBoth(SHORT.key);
    await within(sameOnAll([ws, local], (f) => f.event === 'pusher:ping'), 5000, 'pusher:ping');
    assert.equal((await within(local.closed, 5000, 'in-process close')).code, 4201);
    assert.equal((await within(ws.closed, 5000, 'ws close')).code, 4201);
  });

  it('a subscriber that buffers past maxBackpressureBytes is closed with 4100 on its next send', async () => {
    const local = InProcessSubscriber.connect(server);
    await local.established();
    local.buffered = BACKPRESSURE_LIMIT + 1;
    local.write({ event: 'pusher:ping', data: {} });
    assert.equal((await within(local.closed, 3000, 'in-process close')).code, 4100);
    assert.match(local.text(await local.next((f) => f.event === 'pusher:error')), /4100/);
  });

  it('counts against maxConnections and is refused over it like a WebSocket', async () => {
    const ws = await RawClient.connect(server.port, SINGLE.key);
    await ws.established();
    const local = InProcessSubscriber.connect(server, SINGLE.key);
    assert.equal((await within(local.closed, 3000, 'in-process close')).code, 4004);
    ws.close();
    await ws.closed;
  });

  it('an unknown app key is refused with 4001 during the handshake', async () => {
    const local = InProcessSubscriber.connect(server, 'no-such-key');
    assert.equal((await within(local.closed, 3000, 'in-process close')).code, 4001);
  });
});
