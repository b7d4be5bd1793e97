// The client `broadcasty doctor` connects end to end with: pusher-js when it is installed (it is a
// devDependency, so a production install may lack it), else the `ws` package speaking the Pusher
// protocol itself (docs/PROTOCOL.md §0–§2). Both answer the same small interface.
import { WebSocket } from 'ws';

/** The server refused the connection or the subscription (pusher:error / subscription_error). */
export class SocketRefused extends Error {
  constructor(
    readonly code: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

interface ProbeSocket {
  /** Which client this is, for the report. */
  readonly client: string;
  /** Resolves once subscribed; rejects with SocketRefused. */
  subscribe(channel: string): Promise<void>;
  /** Resolves when `event` arrives on the subscribed channel. */
  received(event: string): Promise<void>;
  close(): void;
}

interface SocketAddress {
  tls: boolean;
  host: string;
  port: number;
  /** The server's pathPrefix. */
  path: string;
}

export function socketAddress(baseUrl: string): SocketAddress {
  const url = new URL(baseUrl);
  const tls = url.protocol === 'https:';
  return { tls, host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || (tls ? 443 : 80)), path: url.pathname.replace(/\/$/, '') };
}

export async function openProbeSocket(address: SocketAddress, key: string, preferPusherJs = true): Promise<ProbeSocket> {
  if (preferPusherJs) {
    try {
      const module = (await import('pusher-js')) as unknown as { default: PusherClass };
      return new PusherJsProbe(module.default, address, key);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    }
  }
  return new WsProbe(address, key);
}

interface PusherChannel {
  bind(event: string, callback: (data: unknown) => void): void;
}
/** A refusal arrives as `{data: {code, message}}`, or wrapped once more as `{type: 'WebSocketError', error: {data}}`. */
interface PusherJsError {
  data?: { code?: number; message?: string };
  error?: PusherJsError;
}
interface PusherInstance {
  connection: { bind(event: 'error', callback: (error: PusherJsError) => void): void };
  subscribe(channel: string): PusherChannel;
  disconnect(): void;
}
type PusherClass = new (key: string, options: object) => PusherInstance;

class PusherJsProbe implements ProbeSocket {
  readonly client = 'pusher-js';
  private readonly pusher: PusherInstance;
  private channel: PusherChannel | undefined;
  private readonly refused: Promise<never>;

  constructor(Pusher: PusherClass, address: SocketAddress, key: string) {
    this.pusher = new Pusher(key, {
      cluster: '',
      wsHost: address.host,
      wsPort: address.port,
      wssPort: address.port,
      wsPath: address.path,
      forceTLS: address.tls,
      enabledTransports: ['ws', 'wss'],
      disableStats: true,
    });
    this.refused = new Promise((_, reject) => {
      this.pusher.connection.bind('error', (error) => {
        const data = error.data ?? error.error?.data;
        if (data?.code !== undefined) reject(new SocketRefused(data.code, data.message ?? ''));
      });
    });
    this.refused.catch(() => {});
  }

  subscribe(name: string): Promise<void> {
    const channel = (this.channel = this.pusher.subscribe(name));
    const subscribed = new Promise<void>((resolve, reject) => {
      channel.bind('pusher:subscription_succeeded', () => resolve());
      channel.bind('pusher:subscription_error', (error) => reject(new SocketRefused(undefined, JSON.stringify(error))));
    });
    return Promise.race([subscribed, this.refused]);
  }

  received(event: string): Promise<void> {
    return Promise.race([new Promise<void>((resolve) => this.channel!.bind(event, () => resolve())), this.refused]);
  }

  close(): void {
    this.pusher.disconnect();
  }
}

interface Frame {
  event: string;
  channel?: string;
  data?: unknown;
}

class WsProbe implements ProbeSocket {
  readonly client = 'ws (pusher-js is not installed: the Pusher protocol spoken directly)';
  private readonly socket: WebSocket;
  private readonly waiters = new Set<{ match: (frame: Frame) => boolean; resolve: () => void; reject: (error: Error) => void }>();
  private channel = '';
  private failure: Error | undefined;
  /** Registered at once: the server may greet before subscribe() is called. */
  private readonly established: Promise<void>;

  constructor(address: SocketAddress, key: string) {
    const url = `${address.tls ? 'wss' : 'ws'}://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}${address.path}/app/${encodeURIComponent(key)}?protocol=7&client=broadcasty-doctor&version=1.0.0&flash=false`;
    this.socket = new WebSocket(url);
    this.socket.on('message', (raw) => this.frame(JSON.parse(raw.toString()) as Frame));
    this.socket.on('error', (error) => this.failAll(error));
    this.socket.on('close', (code, reason) => this.failAll(new SocketRefused(code, reason.toString() || 'the connection closed')));
    this.established = this.next((frame) => frame.event === 'pusher:connection_established');
    this.established.catch(() => {});
  }

  private frame(frame: Frame): void {
    if (frame.event === 'pusher:ping') this.socket.send(JSON.stringify({ event: 'pusher:pong', data: {} }));
    if (frame.event === 'pusher:error') {
      const data = (typeof frame.data === 'string' ? JSON.parse(frame.data) : frame.data) as { code?: number; message?: string };
      this.failAll(new SocketRefused(data.code, data.message ?? ''));
      return;
    }
    if (frame.event === 'pusher_internal:subscription_error' || frame.event === 'pusher:subscription_error') {
      this.failAll(new SocketRefused(undefined, JSON.stringify(frame.data)));
      return;
    }
    for (const waiter of this.waiters) {
      if (!waiter.match(frame)) continue;
      this.waiters.delete(waiter);
      waiter.resolve();
    }
  }

  private failAll(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.waiters) waiter.reject(error);
    this.waiters.clear();
  }

  private next(match: (frame: Frame) => boolean): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiters.add({ match, resolve, reject }));
  }

  async subscribe(channel: string): Promise<void> {
    this.channel = channel;
    await this.established;
    const subscribed = this.next((frame) => frame.event === 'pusher_internal:subscription_succeeded' && frame.channel === channel);
    this.socket.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel } }));
    await subscribed;
  }

  received(event: string): Promise<void> {
    return this.next((frame) => frame.event === event && frame.channel === this.channel);
  }

  close(): void {
    this.socket.terminate();
  }
}
