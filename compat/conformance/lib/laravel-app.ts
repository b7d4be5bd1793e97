// A stand-in for a Laravel app, served on a free local port: /broadcasting/auth and
// /broadcasting/user-auth answer exactly like Laravel's BroadcastController + PusherBroadcaster
// (docs/PROTOCOL.md §4.3), broadcasting goes through the PHP-shape client (§8.1), and one "controller"
// route does `broadcast(new OrderShipped($order))->toOthers()` from the X-Socket-ID header.
// The browser cases also fetch their page and the client bundles from here.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Echo from 'laravel-echo';
import PusherModule from 'pusher-js';
import type { CaseContext } from '../types.js';
import { laravelBroadcast, phpJsonEncode, PhpPusher } from './http-client.js';

// pusher-js is CommonJS: at run time the default import *is* the Pusher class, while its typings
// (NodeNext) describe the module object whose `default` is the class.
const Pusher = PusherModule as unknown as typeof PusherModule.default;
type Pusher = InstanceType<typeof Pusher>;

export interface User {
  id: number;
  name: string;
}

/** `routes/channels.php`: pattern with {params} → callback(user, ...params); falsy denies. */
export type ChannelCallback = (user: User, ...params: string[]) => unknown;

/** Base64 of the 32 ASCII bytes `0123456789abcdef0123456789abcdef` (PROTOCOL §4.1 vector). */
export const MASTER_KEY = 'MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=';

export const USERS: Record<string, User> = { 'token-1': { id: 1, name: 'Taylor' }, 'token-2': { id: 2, name: 'Abigail' } };

export const CHANNELS: Record<string, ChannelCallback> = {
  'orders.{id}': () => true,
  'App.Models.User.{id}': (user, id) => user.id === Number(id),
  'chat.{room}': (user) => ({ id: user.id, name: user.name }),
  'vault.{id}': () => true,
};

export interface AuthRecord {
  path: string;
  status: number;
  request: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  response: string;
}

export class LaravelApp {
  readonly php: PhpPusher;
  readonly authLog: AuthRecord[] = [];
  url = '';
  /** Extra GET routes (the browser page and bundles). */
  readonly files = new Map<string, { type: string; body: string | Buffer }>();

  private constructor(ctx: CaseContext) {
    this.php = new PhpPusher(ctx.target, { masterKeyBase64: MASTER_KEY });
  }

  static async start(ctx: CaseContext): Promise<LaravelApp> {
    const app = new LaravelApp(ctx);
    const server = createServer((req, res) => {
      void app.handle(req, res).catch((error: Error) => res.writeHead(500).end(error.message));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    app.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    ctx.cleanup(() => {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    });
    return app;
  }

  /** `event(new X)` with ShouldBroadcastNow: PusherBroadcaster::broadcast with the event's payload. */
  broadcast(channels: string[], event: string, payload: Record<string, unknown>): Promise<void> {
    return laravelBroadcast(this.php, channels, event, payload);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    // Laravel merges query and form input; pusher-js posts application/x-www-form-urlencoded.
    const input = Object.fromEntries([...url.searchParams, ...new URLSearchParams(body)]);
    const user = USERS[String(req.headers.authorization ?? '').replace(/^Bearer /, '')];
    const file = this.files.get(url.pathname);
    if (req.method === 'GET' && file) return void res.writeHead(200, { 'Content-Type': file.type }).end(file.body);
    const reply = (out: { status: number; body: string; type?: string }) => {
      this.authLog.push({ path: url.pathname, status: out.status, request: input, headers: req.headers, response: out.body });
      res.writeHead(out.status, { 'Content-Type': out.type ?? 'application/json' }).end(out.body);
    };
    if (url.pathname === '/broadcasting/auth') return reply(this.channelAuth(input, user));
    if (url.pathname === '/broadcasting/user-auth') {
      if (!user) return reply({ status: 403, body: '' });
      // resolveAuthenticatedUserUsing(fn => ['id' => (string) $user->id, 'user_info' => [...]]); the
      // controller returns the SDK's JSON string as-is (text/html in Laravel; pusher-js ignores the type).
      const userData = { id: String(user.id), user_info: { name: user.name } };
      return reply({ status: 200, body: this.php.authenticateUser(input.socket_id, userData), type: 'text/html; charset=UTF-8' });
    }
    const ship = /^\/orders\/(\d+)\/ship$/.exec(url.pathname);
    if (req.method === 'POST' && ship) {
      // OrderShipped uses InteractsWithSockets; ->toOthers() stores X-Socket-ID as `socket`.
      const socket = req.headers['x-socket-id'];
      await this.broadcast([`private-orders.${ship[1]}`], 'App\\Events\\OrderShipped', { order: { id: Number(ship[1]), status: 'shipped' }, socket: socket ?? null });
      return void res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}');
    }
    res.writeHead(404).end('Not Found');
  }

  /** PusherBroadcaster::auth + validAuthenticationResponse, replies re-encoded by JsonResponse (json_encode flags 0). */
  private channelAuth(input: Record<string, string>, user: User | undefined): { status: number; body: string } {
    const name = input.channel_name ?? '';
    const normalized = name.replace(/^(private-encrypted-|private-|presence-)/, '');
    const guarded = /^(private-|presence-)/.test(name);
    if (guarded && !user) return { status: 403, body: '' };
    for (const [pattern, callback] of Object.entries(CHANNELS)) {
      const regex = new RegExp(`^${pattern.replace(/\./g, '\\.').replace(/\{[^}]+\}/g, '([^.]+)')}$`);
      const match = regex.exec(normalized);
      if (!match) continue;
      const result = user ? callback(user, ...match.slice(1)) : false;
      if (!result) return { status: 403, body: '' };
      const reply = name.startsWith('private')
        ? this.php.authorizeChannel(name, input.socket_id)
        : this.php.authorizePresenceChannel(name, input.socket_id, String(user!.id), result);
      return { status: 200, body: phpJsonEncode(reply) };
    }
    return { status: 403, body: '' };
  }
}

export type Broadcaster = 'pusher' | 'reverb';

/** Echo as a Laravel front end configures it (§7.3 stubs), in Node, pusher-js passed as `Pusher`. */
export function nodeEcho(ctx: CaseContext, app: LaravelApp, broadcaster: Broadcaster, token?: string): Echo<Broadcaster> {
  const t = ctx.target;
  const options = {
    broadcaster,
    key: t.key,
    ...(broadcaster === 'pusher' ? { cluster: 'mt1' } : {}),
    wsHost: t.host,
    wsPort: t.port,
    wssPort: t.port,
    wsPath: t.pathPrefix,
    forceTLS: t.tls,
    enabledTransports: ['ws', 'wss'],
    authEndpoint: `${app.url}/broadcasting/auth`,
    userAuthentication: { endpoint: `${app.url}/broadcasting/user-auth`, headers: {} },
    bearerToken: token ?? null,
    Pusher,
  };
  // Echo's option typings are a union per broadcaster that a runtime-chosen broadcaster cannot satisfy.
  const echo = new Echo<Broadcaster>(options as never);
  ctx.cleanup(() => echo.disconnect());
  return echo;
}

export function pusherOf(echo: Echo<Broadcaster>): Pusher {
  return (echo.connector as unknown as { pusher: Pusher }).pusher;
}

/** Resolves once pusher-js reports the connection state, or fails after `ms`. */
export function connected(echo: Echo<Broadcaster>, ms = 5000): Promise<void> {
  const pusher = pusherOf(echo);
  if (pusher.connection.state === 'connected') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Echo did not connect within ${ms} ms (state ${pusher.connection.state})`)), ms);
    pusher.connection.bind('connected', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** A value delivered to a callback, with a timeout naming what was awaited. */
export function deferred<T>(what: string, ms = 5000): { resolve: (v: T) => void; reject: (e: Error) => void; promise: Promise<T> } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${what}: nothing within ${ms} ms`)), ms);
    resolve = (v) => {
      clearTimeout(timer);
      res(v);
    };
    reject = (e) => {
      clearTimeout(timer);
      rej(e);
    };
  });
  return { resolve, reject, promise };
}
