// The seam between the transports (native uWebSockets.js, or Node http + ws) and the rest of the
// server. Nothing outside src/transport sees a uWS or ws object; connections and the engine talk
// to these interfaces.
import type { FdBudget } from './fd-budget.js';

export interface Socket {
  /** Sends one text frame. Returns false when the socket is closed or the frame was not accepted. */
  send(frame: string): boolean;
  /** Sends Close(code, reason); the `close` handler runs afterwards. */
  close(code: number, reason: string): void;
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  /** Publishes to a topic, skipping this socket (socket_id exclusion without a per-subscriber check in JS). */
  publishToOthers(topic: string, frame: string): void;
  bufferedBytes(): number;
  readonly isClosed: boolean;
}

export interface UpgradeInfo {
  appKey: string;
  /** Raw query string of the upgrade URL. */
  query: string;
  origin: string;
  tls: boolean;
}

export interface SocketHandlers<Owner> {
  open(socket: Socket, info: UpgradeInfo): Owner;
  message(owner: Owner, text: string): void;
  /** Protocol ping/pong frames: count as activity. */
  activity(owner: Owner): void;
  drain(owner: Owner): void;
  close(owner: Owner, code: number): void;
}

export interface HttpRequest {
  method: string;
  /** Path without the server's path prefix, as sent (percent-escapes kept). */
  path: string;
  query: string;
  body: Buffer;
}

export interface HttpReply {
  status: number;
  body: string;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface Transport {
  listen(): Promise<number>;
  /** Publishes a frame to every local socket subscribed to the topic. */
  publish(topic: string, frame: string): void;
  subscriberCount(topic: string): number;
  /** Stops accepting connections (existing sockets stay until closed). */
  stopListening(): void;
}

export interface TransportOptions<Owner> {
  host: string;
  port: number;
  pathPrefix: string;
  tlsCert?: string;
  tlsKey?: string;
  maxMessageBytes: number;
  maxRequestBytes: number;
  /** Above this many buffered bytes a socket is closed instead of frames being dropped. */
  hardBackpressureBytes: number;
  /** False when several workers share the port (workers > 1). */
  exclusivePort: boolean;
  /** Open file descriptors: refuse and stop accepting before accept() can hit EMFILE. */
  fds: FdBudget;
  sockets: SocketHandlers<Owner>;
  http(request: HttpRequest): HttpReply | Promise<HttpReply>;
}
