// The seam between the transports (native uWebSockets.js, or Node http + ws) and the rest of the
// server. Nothing outside src/transport sees a uWS or ws object; connections and the engine talk
// to these interfaces.
import type { FdBudget } from './fd-budget.js';

/**
 * Native fan-out of a transport (uWS topics): a socket subscribed to a topic receives what is
 * published to it without a JS call per subscriber. Only the hub uses it.
 */
export interface TopicMembership {
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  /** Publishes to a topic, skipping this socket (socket_id exclusion without a per-subscriber check in JS). */
  publishToOthers(topic: string, frame: string): void;
}

/** What a transport hands the server for one client: a WebSocket, or any other subscriber kind. */
export interface ClientSocket {
  /** Sends one text frame. Returns false when the socket is closed or the frame was not accepted. */
  send(frame: string): boolean;
  /** Sends Close(code, reason); the `close` handler runs afterwards. */
  close(code: number, reason: string): void;
  bufferedBytes(): number;
  readonly remoteAddress: string;
  readonly isClosed: boolean;
  /** Present when the transport fans out natively; without it the hub delivers frame by frame. */
  readonly topics?: TopicMembership;
}

export interface UpgradeInfo {
  appKey: string;
  /** Raw query string of the upgrade URL. */
  query: string;
  origin: string;
  tls: boolean;
  /** The process is inside its open-file reserve: the socket is refused with 4100 (see fd-budget.ts). */
  atCapacity: boolean;
}

export interface SocketHandlers<Owner> {
  open(socket: ClientSocket, info: UpgradeInfo): Owner;
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
  /**
   * Request headers, names lower-cased, a repeated header's values joined with ", " (both
   * transports alike; Node's own `req.headers` would drop repeats of some names). No prototype:
   * a header named `__proto__` is a key like any other.
   */
  headers: Readonly<Record<string, string>>;
  /** The peer's IP address as text (the TCP peer: a proxy in front shows as itself). */
  remoteAddress: string;
  /** The request came over this server's own TLS listener. */
  tls: boolean;
}

export interface HttpReply {
  status: number;
  body: string;
  contentType?: string;
  headers?: Record<string, string>;
}

/**
 * A response of unknown length (SSE, xhr_streaming, long-polling): status and headers, then
 * `stream(out)` writes chunks until it calls `out.end()` or the stream is closed under it.
 */
export interface StreamReply {
  status: number;
  contentType?: string;
  headers?: Record<string, string>;
  stream(out: ResponseStream): void;
}

/** What an HTTP handler answers: a whole body, or a stream. */
export type HttpAnswer = HttpReply | StreamReply;

/**
 * Why a stream ended without the handler's `end()`: the client went away, or it stopped reading
 * and the stream fell more than `maxStreamBufferBytes` behind (it is cut rather than buffered
 * without bound).
 */
export type StreamAbortReason = 'client-gone' | 'too-slow';

export interface ResponseStream {
  /**
   * Queues a chunk. True: write more. False: the connection is behind (wait for onWritable), or
   * the stream is closed. A chunk that takes the backlog past `maxStreamBufferBytes` closes the
   * stream with `too-slow`. Never throws, also after a close.
   */
  write(chunk: string): boolean;
  /** Called when the connection took the backlog after a write returned false (replaces the previous callback). */
  onWritable(callback: () => void): void;
  /** Called once when the stream ends without `end()` (replaces the previous callback). */
  onAborted(callback: (reason: StreamAbortReason) => void): void;
  /** Finishes the response; the bytes still buffered are sent first. */
  end(): void;
  /**
   * Bytes accepted but not yet taken by the kernel. Exact on Node. uWS does not report it: there
   * it counts every byte written since uWS last took a whole write, which can miss one cork
   * buffer (16 KiB) that a later uncork could not send.
   */
  bufferedBytes(): number;
  readonly isClosed: boolean;
}

export interface Transport {
  listen(): Promise<number>;
  /** Publishes a frame to every local socket subscribed to the topic (TopicMembership). */
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
  /** Per streamed response: past this many buffered bytes the stream is cut (`too-slow`). */
  maxStreamBufferBytes: number;
  http(request: HttpRequest): HttpAnswer | Promise<HttpAnswer>;
}
