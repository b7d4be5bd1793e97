// The resume plugin against a scripted peer (docs/PROTOCOL.md §13.2–13.3): what pusher-js sends
// in `pusher:subscribe` on every (re)subscribe, and what the app's handlers receive when the
// server replays, repeats, or cannot resume. Frames Broadcasty itself only sends in races
// (duplicates, `ahead`) are written here by hand; test/resume-stream.test.ts runs the real server.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import PusherModule from 'pusher-js';
import { withResume, type ResumeFailure } from '../client/resume.js';
import { until } from './support/cluster.js';
import { ScriptedPeer } from './support/scripted-peer.js';

const Pusher = PusherModule as unknown as typeof PusherModule.default;
type Pusher = InstanceType<typeof Pusher>;

const EPOCH = '1764650000123456';
const OTHER_EPOCH = '1764650099000001';

let peer: ScriptedPeer;
let clients: Pusher[] = [];
before(async () => (peer = await ScriptedPeer.start()));
afterEach(() => {
  for (const client of clients) client.disconnect();
  clients = [];
});
after(() => peer.stop());

interface App {
  pusher: Pusher;
  /** `i` of every `tick` the app's handler received on the channel. */
  ticks: number[];
  failures: [string, ResumeFailure][];
  /** Data of every `broadcasty:resume_failed` bound on the channel. */
  bound: unknown[];
}

async function subscribedApp(channel: string): Promise<App> {
  const app: App = { pusher: undefined as unknown as Pusher, ticks: [], failures: [], bound: [] };
  app.pusher = withResume(new Pusher('app-key', { wsHost: '127.0.0.1', wsPort: peer.port, forceTLS: false, enabledTransports: ['ws'], cluster: '' }), {
    onResumeFailed: (name, failure) => app.failures.push([name, failure]),
  });
  clients.push(app.pusher);
  app.pusher.connection.bind('error', () => undefined);
  const subscription = app.pusher.subscribe(channel);
  subscription.bind('tick', (data: { i: number }) => app.ticks.push(data.i));
  subscription.bind('broadcasty:resume_failed', (data: unknown) => app.bound.push(data));
  return app;
}

const tick = (channel: string, i: number, epoch = EPOCH, partition?: number) =>
  `{"event":"tick","data":"{\\"i\\":${i}}","channel":"${channel}","offset":${i},"epoch":"${epoch}"${partition === undefined ? '' : `,"partition":${partition}`}}`;
const succeeded = (channel: string, offset: number, epoch = EPOCH) =>
  `{"event":"pusher_internal:subscription_succeeded","data":"{}","channel":"${channel}","offset":${offset},"epoch":"${epoch}"}`;
const resumeFailed = (channel: string, reason: string, offset: number, epoch = EPOCH) => ({
  event: 'broadcasty:resume_failed',
  data: JSON.stringify({ reason, offset, epoch }),
  channel,
});

/** Frames on one socket arrive in order: once the app saw this marker, it saw everything before. */
async function settled(app: App, channel: string): Promise<void> {
  const marker = -Math.floor(Math.random() * 1e9);
  peer.send({ event: 'tick', data: JSON.stringify({ i: marker }), channel });
  await until(() => app.ticks.includes(marker), 3000, `marker on ${channel}`);
  app.ticks.splice(app.ticks.indexOf(marker), 1);
}

async function reconnect(channel: string): Promise<unknown> {
  await peer.closeCurrent(4200);
  return (await peer.nextSubscribe(channel)).data;
}

describe('resume plugin: pusher-js against a scripted peer', () => {
  it('the first subscribe is stock; every resubscribe carries the last position; repeats never reach bind', async () => {
    const app = await subscribedApp('orders');
    assert.deepEqual((await peer.nextSubscribe('orders')).data, { auth: '', channel: 'orders' }, 'nothing seen yet: stock pusher:subscribe');
    peer.send(succeeded('orders', 5));
    for (const i of [6, 7, 7, 6, 8]) peer.send(tick('orders', i));
    await settled(app, 'orders');
    assert.deepEqual(app.ticks, [6, 7, 8]);

    assert.deepEqual(await reconnect('orders'), { auth: '', channel: 'orders', resume: { epoch: EPOCH, offset: 8 } });
    peer.send(succeeded('orders', 10));
    for (const i of [8, 9, 10, 10, 11]) peer.send(tick('orders', i));
    await settled(app, 'orders');
    assert.deepEqual(app.ticks, [6, 7, 8, 9, 10, 11]);
    assert.deepEqual(await reconnect('orders'), { auth: '', channel: 'orders', resume: { epoch: EPOCH, offset: 11 } });
  });

  it('with no event seen, the position of subscription_succeeded is the one resumed from', async () => {
    const app = await subscribedApp('quiet');
    await peer.nextSubscribe('quiet');
    peer.send(succeeded('quiet', 42));
    await settled(app, 'quiet');
    assert.deepEqual(await reconnect('quiet'), { auth: '', channel: 'quiet', resume: { epoch: EPOCH, offset: 42 } });
  });

  it('a new epoch: resume_failed reaches bind and onResumeFailed, and the app continues from the position it names', async () => {
    const app = await subscribedApp('epochs');
    await peer.nextSubscribe('epochs');
    peer.send(succeeded('epochs', 7));
    peer.send(tick('epochs', 8));
    await settled(app, 'epochs');

    assert.deepEqual(await reconnect('epochs'), { auth: '', channel: 'epochs', resume: { epoch: EPOCH, offset: 8 } });
    peer.send(succeeded('epochs', 3, OTHER_EPOCH));
    peer.send(resumeFailed('epochs', 'epoch_changed', 3, OTHER_EPOCH));
    for (const i of [3, 4]) peer.send(tick('epochs', i, OTHER_EPOCH));
    await settled(app, 'epochs');
    const failure = { reason: 'epoch_changed', offset: 3, epoch: OTHER_EPOCH };
    assert.deepEqual(app.bound, [failure]);
    assert.deepEqual(app.failures, [['epochs', failure]]);
    assert.deepEqual(app.ticks, [8, 4], 'offset 3 of the new epoch is the named position, not an event to deliver again');
    assert.deepEqual(await reconnect('epochs'), { auth: '', channel: 'epochs', resume: { epoch: OTHER_EPOCH, offset: 4 } });
  });

  it('a new epoch in subscription_succeeded alone changes nothing: cut before resume_failed, the next subscribe names the old position again', async () => {
    const app = await subscribedApp('cut-epochs');
    await peer.nextSubscribe('cut-epochs');
    peer.send(succeeded('cut-epochs', 7));
    peer.send(tick('cut-epochs', 8));
    await settled(app, 'cut-epochs');

    assert.deepEqual(await reconnect('cut-epochs'), { auth: '', channel: 'cut-epochs', resume: { epoch: EPOCH, offset: 8 } });
    peer.send(succeeded('cut-epochs', 3, OTHER_EPOCH));
    await settled(app, 'cut-epochs');
    assert.deepEqual(
      await reconnect('cut-epochs'),
      { auth: '', channel: 'cut-epochs', resume: { epoch: EPOCH, offset: 8 } },
      'resuming from the new epoch would skip its offsets 1-3 without the app ever hearing of it',
    );
    assert.deepEqual(app.failures, []);
  });

  it('"ahead": the app drops back to the server position, so later events are not taken for repeats', async () => {
    const app = await subscribedApp('ahead');
    await peer.nextSubscribe('ahead');
    peer.send(succeeded('ahead', 49));
    peer.send(tick('ahead', 50));
    await settled(app, 'ahead');

    await reconnect('ahead');
    peer.send(succeeded('ahead', 45));
    peer.send(resumeFailed('ahead', 'ahead', 45));
    peer.send(tick('ahead', 46));
    await settled(app, 'ahead');
    assert.deepEqual(app.ticks, [50, 46]);
    assert.deepEqual(app.failures, [['ahead', { reason: 'ahead', offset: 45, epoch: EPOCH }]]);
  });

  it('partitions: one position each, resumed as a list; a repeat in one partition is dropped, the same offset in another is not', async () => {
    const app = await subscribedApp('parted');
    await peer.nextSubscribe('parted');
    peer.send({
      event: 'pusher_internal:subscription_succeeded',
      data: '{}',
      channel: 'parted',
      positions: [
        { partition: 0, offset: 3, epoch: EPOCH },
        { partition: 1, offset: 0, epoch: EPOCH },
      ],
    });
    for (const [i, partition] of [[1, 1], [4, 0], [1, 1], [2, 1], [4, 0]]) peer.send(tick('parted', i, EPOCH, partition));
    await settled(app, 'parted');
    assert.deepEqual(app.ticks, [1, 4, 2]);
    assert.deepEqual(await reconnect('parted'), {
      auth: '',
      channel: 'parted',
      resume: [
        { partition: 0, epoch: EPOCH, offset: 4 },
        { partition: 1, epoch: EPOCH, offset: 2 },
      ],
    });
  });

  it('an explicit unsubscribe forgets the position: subscribing again starts stock', async () => {
    const app = await subscribedApp('again');
    await peer.nextSubscribe('again');
    peer.send(succeeded('again', 1));
    peer.send(tick('again', 2));
    await settled(app, 'again');
    app.pusher.unsubscribe('again');
    await peer.next((f) => f.event === 'pusher:unsubscribe');
    // An event in flight when the unsubscribe left: pusher-js drops it, and it must not leave a position behind.
    const arrived = new Promise((resolve) => app.pusher.connection.bind('message', (m: { event: string }) => m.event === 'late' && resolve(m)));
    peer.send(tick('again', 3));
    peer.send({ event: 'late', data: '{}', channel: 'again' });
    await arrived;
    app.pusher.subscribe('again');
    assert.deepEqual((await peer.nextSubscribe('again')).data, { auth: '', channel: 'again' });
  });

  it('frames without positions pass untouched, repeats included', async () => {
    const app = await subscribedApp('plain');
    await peer.nextSubscribe('plain');
    peer.send({ event: 'pusher_internal:subscription_succeeded', data: '{}', channel: 'plain' });
    for (const i of [1, 1, 2]) peer.send({ event: 'tick', data: JSON.stringify({ i }), channel: 'plain' });
    await settled(app, 'plain');
    assert.deepEqual(app.ticks, [1, 1, 2]);
    assert.deepEqual(await reconnect('plain'), { auth: '', channel: 'plain' });
  });
});
