// Cluster tests as users run them: Broadcasty nodes started through the CLI with a config file,
// pusher-js clients (Node build) authorised by the `pusher` SDK, and the SDK for the HTTP API.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import PusherModule, { type Options } from 'pusher-js';
import PusherServer from 'pusher';
import { signRequest } from '../../protocol/index.js';
import { freePort, runCli, untilListening, type CliProcess } from './cli-process.js';
import { RawClient } from './in-process.js';
import { scratchDir } from './scratch.js';

// Under NodeNext the default import is typed as the module namespace; at run time it is the class.
const Pusher = PusherModule as unknown as typeof PusherModule.default;
type Pusher = InstanceType<typeof Pusher>;

export const APP = { id: 'app-id', key: 'app-key', secret: 'app-secret' };

export interface Node {
  port: number;
  cli: CliProcess;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
  /** kill -9 and wait for the exit. */
  kill(): Promise<void>;
}

export function writeConfig(config: object): string {
  const file = join(scratchDir('cluster'), 'config.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

export async function startNode(config: object, args: string[] = []): Promise<Node> {
  const port = await freePort();
  const cli = runCli(['start', '--config', writeConfig(config), '--port', String(port), '--host', '127.0.0.1', ...args]);
  await untilListening(cli);
  const signal = async (name: NodeJS.Signals) => {
    if (cli.child.exitCode !== null || cli.child.signalCode !== null) return;
    cli.child.kill(name);
    await cli.exited;
  };
  return { port, cli, stop: () => signal('SIGTERM'), kill: () => signal('SIGKILL') };
}

export function startNodes(count: number, config: object): Promise<Node[]> {
  return Promise.all(Array.from({ length: count }, () => startNode(config)));
}

export function sdk(port: number, app = APP): PusherServer {
  return new PusherServer({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1', port: String(port), useTLS: false });
}

export interface TriggerReply {
  status: number;
  retryAfter: string | null;
  body: string;
}

/** POST /events signed as the SDKs sign it, answering what the SDKs hide: status and Retry-After. */
export async function triggerRaw(port: number, channel: string, event: string, data: unknown, app = APP): Promise<TriggerReply> {
  const path = `/apps/${app.id}/events`;
  const body = JSON.stringify({ name: event, channels: [channel], data: JSON.stringify(data) });
  const query = signRequest({ method: 'POST', path, key: app.key, secret: app.secret, body });
  const response = await fetch(`http://127.0.0.1:${port}${path}?${query}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.text() };
}

/**
 * A raw socket subscribed to channels (presence ones as userId). For sockets whose node a test
 * kills or whose connection the server closes: pusher-js would keep reconnecting, or leave a
 * 30 s faye-websocket close timer behind that holds the test process open.
 */
export async function rawSubscriber(port: number, channels: string[], userId?: string, app = APP): Promise<RawClient> {
  const client = await RawClient.connect(port, app.key);
  const socketId = await client.established();
  const signer = sdk(port, app);
  for (const channel of channels) {
    const presence = channel.startsWith('presence-') ? { user_id: userId! } : undefined;
    const auth = presence !== undefined || channel.startsWith('private-') ? signer.authorizeChannel(socketId, channel, presence) : {};
    client.send({ event: 'pusher:subscribe', data: { channel, ...auth } });
    await client.next((f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === channel);
  }
  return client;
}

export interface ReceivedEvent {
  channel: string;
  event: string;
  data: unknown;
}

export interface User {
  id: string;
  info?: Record<string, unknown>;
}

/** Where pusher-js connects for a server on 127.0.0.1:`port`: WebSocket only, no TLS, no cluster host. */
export function localSocketOptions(port: number) {
  return { wsHost: '127.0.0.1', wsPort: port, forceTLS: false, enabledTransports: ['ws'], cluster: '' } satisfies Options;
}

/**
 * pusher-js options for a server on 127.0.0.1:`port` (WebSocket only): channels are authorised
 * by the SDK, as `user` on presence channels.
 */
export function localPusherOptions(port: number, app = APP, user?: User) {
  const signer = sdk(port, app);
  return {
    ...localSocketOptions(port),
    channelAuthorization: {
      customHandler: ({ socketId, channelName }, callback) => {
        const presence = channelName.startsWith('presence-') && user !== undefined ? { user_id: user.id, user_info: user.info } : undefined;
        callback(null, signer.authorizeChannel(socketId, channelName, presence));
      },
    },
  } satisfies Options;
}

/** A pusher-js client that records every event of every channel. */
export class Client {
  readonly events: ReceivedEvent[] = [];
  readonly pusher: Pusher;
  private waiters: { match: (e: ReceivedEvent) => boolean; resolve: (e: ReceivedEvent) => void }[] = [];

  /** `options` override the defaults, e.g. pusher-js's HTTP fallbacks instead of the WebSocket. */
  constructor(
    readonly port: number,
    user?: User,
    app = APP,
    options: Partial<Options> = {},
  ) {
    const signer = sdk(port, app);
    this.pusher = new Pusher(app.key, {
      ...localPusherOptions(port, app, user),
      ...options,
      userAuthentication: {
        customHandler: ({ socketId }, callback) => callback(null, signer.authenticateUser(socketId, { id: user!.id })),
      },
    });
    this.pusher.connection.bind('message', (message: { event: string; channel?: string; data: unknown }) => {
      if (message.channel === undefined) return;
      this.record({ channel: message.channel, event: message.event, data: message.data });
    });
    this.pusher.connection.bind('error', () => undefined);
  }

  static async connect(port: number, user?: User, app = APP, options: Partial<Options> = {}): Promise<Client> {
    const client = new Client(port, user, app, options);
    await client.connected();
    return client;
  }

  connected(): Promise<string> {
    return new Promise((resolve) => {
      if (this.pusher.connection.state === 'connected') return resolve(this.pusher.connection.socket_id);
      this.pusher.connection.bind('connected', () => resolve(this.pusher.connection.socket_id));
    });
  }

  get socketId(): string {
    return this.pusher.connection.socket_id;
  }

  async subscribe(channel: string) {
    const subscribed = this.next(channel, 'pusher_internal:subscription_succeeded');
    const subscription = this.pusher.subscribe(channel);
    await subscribed;
    return subscription;
  }

  /** Resolves with the first matching event, already received or arriving within the timeout. */
  next(channel: string, event: string, timeoutMs = 5000): Promise<ReceivedEvent> {
    const match = (e: ReceivedEvent) => e.channel === channel && e.event === event;
    const seen = this.events.find(match);
    if (seen !== undefined) {
      this.events.splice(this.events.indexOf(seen), 1);
      return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.match !== match);
        reject(new Error(`no ${event} on ${channel} at :${this.port} within ${timeoutMs} ms; got ${JSON.stringify(this.events)}`));
      }, timeoutMs);
      this.waiters.push({
        match,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  }

  /** Every received event of a channel and name so far, consumed. */
  take(channel: string, event: string): ReceivedEvent[] {
    const taken = this.events.filter((e) => e.channel === channel && e.event === event);
    for (const e of taken) this.events.splice(this.events.indexOf(e), 1);
    return taken;
  }

  disconnect(): void {
    this.pusher.disconnect();
  }

  private record(e: ReceivedEvent): void {
    const waiter = this.waiters.find((w) => w.match(e));
    if (waiter === undefined) {
      this.events.push(e);
      return;
    }
    this.waiters.splice(this.waiters.indexOf(waiter), 1);
    waiter.resolve(e);
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until check() returns a truthy value; rejects with the last value after the timeout. */
export async function until<T>(check: () => Promise<T> | T, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T;
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
    await sleep(50);
  }
}
