// The resume end-to-end run (docs/PROTOCOL.md §13.3): a steady stream of numbered `tick` events
// published over HTTP by the `pusher` SDK, while pusher-js and Echo apps (all through the resume
// plugin, each behind its own Relay) have their sockets cut over and over — by the server with
// 4200, or abruptly on the network. Each app records the `i` of every tick its handler got.
import Echo from 'laravel-echo';
import PusherModule from 'pusher-js';
import type PusherServer from 'pusher';
import { resumingPusher, withResume, type ResumeFailure } from '../../client/resume.js';
import type { RunningServer } from '../../src/server.js';
import { APP, localPusherOptions, sleep, until } from './cluster.js';
import { Relay } from './relay.js';

const Pusher = PusherModule as unknown as typeof PusherModule.default;
type Pusher = InstanceType<typeof Pusher>;

/** Channels of these names keep history in the apps the resume tests configure. */
export const HISTORY_CHANNELS = ['stream.*', 'private-stream.*', 'presence-stream.*', 'private-App.Models.User.*'];

/** The test app with history on HISTORY_CHANNELS: `history` overrides the rule, `settings` the app's other fields. */
export function historyApp(history: Record<string, unknown> = {}, settings: Record<string, unknown> = {}): object {
  return { ...APP, ...settings, history: [{ channels: HISTORY_CHANNELS, maxEvents: 5000, maxAgeSeconds: 600, maxBytes: 8 * 1024 * 1024, ...history }] };
}

export interface StreamApp {
  label: string;
  pusher: Pusher;
  /** The full channel name the app listens on. */
  channel: string;
  relay: Relay;
  ticks: number[];
  failures: ResumeFailure[];
}

/** Every cut makes pusher-js report an error; the tests judge by what the handlers received. */
function quiet(pusher: Pusher): Pusher {
  pusher.connection.bind('error', () => undefined);
  return pusher;
}

/** A pusher-js instance connecting to `port` as user `userId`; with the plugin when `resume`. */
export function testPusher(port: number, userId: string, resume: boolean, failures: ResumeFailure[] = []): Pusher {
  const pusher = quiet(new Pusher(APP.key, localPusherOptions(port, APP, { id: userId })));
  return resume ? withResume(pusher, { onResumeFailed: (_channel, failure) => failures.push(failure) }) : pusher;
}

/**
 * The ways an app meets the stream: pusher-js with `withResume`, Echo given a `withResume` client
 * (private channel), Echo building its client from `resumingPusher(Pusher)` (presence channel),
 * and stock pusher-js without the plugin.
 */
export type AppKind = 'pusher-js' | 'echo-private' | 'echo-presence' | 'stock pusher-js';

/** Subscribes one app of `kind` to the stream named `stream` and waits until it is subscribed. */
export async function streamApp(kind: AppKind, stream: string, upstreamPorts: number[]): Promise<StreamApp> {
  const relay = await Relay.start(upstreamPorts);
  const failures: ResumeFailure[] = [];
  const ticks: number[] = [];
  const onTick = (data: { i: number }) => ticks.push(data.i);
  const onResumeFailed = (_channel: string, failure: ResumeFailure) => failures.push(failure);
  let pusher: Pusher;
  let channel: string;
  if (kind === 'echo-private') {
    pusher = testPusher(relay.port, `user-${kind}`, true, failures);
    new Echo({ broadcaster: 'pusher', key: APP.key, client: pusher }).private(stream).listen('.tick', onTick);
    channel = `private-${stream}`;
  } else if (kind === 'echo-presence') {
    const echo = new Echo({ broadcaster: 'pusher', key: APP.key, Pusher: resumingPusher(Pusher, { onResumeFailed }) as unknown as typeof PusherModule, ...localPusherOptions(relay.port, APP, { id: `user-${kind}` }) });
    pusher = quiet(echo.connector.pusher);
    echo.join(stream).listen('.tick', onTick);
    channel = `presence-${stream}`;
  } else {
    pusher = testPusher(relay.port, `user-${kind}`, kind === 'pusher-js', failures);
    pusher.subscribe(stream).bind('tick', onTick);
    channel = stream;
  }
  await until(() => pusher.channel(channel)?.subscribed, 10_000, `${kind} subscribed to ${channel}`);
  return { label: kind, pusher, channel, relay, ticks, failures };
}

/**
 * Publishes ticks 0..count-1 to `channels` at `perSecond`, one request after the other, the SDKs
 * taking turns; with `partitionKey`, each tick goes to the partition of its key.
 */
export async function publishTicks(sdks: PusherServer[], channels: string[], count: number, perSecond: number, partitionKey?: (i: number) => string): Promise<void> {
  const start = Date.now();
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / perSecond;
    if (due > Date.now()) await sleep(due - Date.now());
    // The SDK merges params into the body; its types know only socket_id and info.
    const params: Record<string, string> | undefined = partitionKey === undefined ? undefined : { partition_key: partitionKey(i) };
    await sdks[i % sdks.length].trigger(channels, 'tick', { i }, params as PusherServer.TriggerParams | undefined);
  }
}

export interface Cuts {
  byServer: number;
  abrupt: number;
}

/**
 * Cuts the app's socket `times` times, each time once it is subscribed again on a new socket:
 * every `abruptEvery`-th cut resets the TCP connection at the relay (pusher-js waits 1 s before
 * reconnecting after that), the others close it from the server with 4200 (reconnect at once).
 */
export async function cutRepeatedly(app: StreamApp, servers: RunningServer[], times: number, abruptEvery: number): Promise<Cuts> {
  const cuts: Cuts = { byServer: 0, abrupt: 0 };
  for (let k = 1; k <= times; k++) {
    await sleep(5 + Math.random() * 20);
    const socketId = app.pusher.connection.socket_id;
    const resubscribed = subscribedAgain(app, socketId, `cut ${k}`);
    if (k % abruptEvery === 0) {
      app.relay.cut();
      cuts.abrupt++;
    } else {
      const connection = servers.map((s) => s.ctx.hub.connections.get(socketId)).find((c) => c !== undefined);
      if (connection === undefined) throw new Error(`${app.label}: socket ${socketId} is on no node`);
      connection.socket.close(4200, 'Reconnect');
      cuts.byServer++;
    }
    await resubscribed;
  }
  return cuts;
}

/** Resolves when the app's channel is subscribed again on a socket other than `socketId`. */
function subscribedAgain(app: StreamApp, socketId: string, what: string): Promise<void> {
  const channel = app.pusher.channel(app.channel);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${app.label}: not subscribed again within 10 s after ${what}`)), 10_000);
    const done = () => {
      if (app.pusher.connection.socket_id === socketId) return;
      clearTimeout(timer);
      channel.unbind('pusher:subscription_succeeded', done);
      resolve();
    };
    channel.bind('pusher:subscription_succeeded', done);
  });
}

/** Waits until every app holds `count` ticks or `ms` passed; the caller asserts what they hold. */
export async function settle(apps: StreamApp[], count: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && apps.some((a) => a.ticks.length < count)) await sleep(50);
}

export async function closeApps(apps: StreamApp[]): Promise<void> {
  for (const app of apps) {
    app.pusher.disconnect();
    await app.relay.stop();
  }
}

export const range = (count: number) => Array.from({ length: count }, (_, i) => i);

/** What an app's ticks lack against 0..count-1: a summary an assertion can print. */
export function streamFaults(ticks: number[], count: number): { received: number; missing: number[]; repeated: number[]; outOfOrderAt: number[] } {
  const seen = new Set<number>();
  const repeated: number[] = [];
  const outOfOrderAt: number[] = [];
  ticks.forEach((i, at) => {
    if (seen.has(i)) repeated.push(i);
    seen.add(i);
    if (at > 0 && i < ticks[at - 1]) outOfOrderAt.push(at);
  });
  const missing = range(count).filter((i) => !seen.has(i));
  // The first few of each are enough to see what went wrong.
  return { received: ticks.length, missing: missing.slice(0, 10), repeated: repeated.slice(0, 10), outOfOrderAt: outOfOrderAt.slice(0, 10) };
}
