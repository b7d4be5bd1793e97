// The seam between uWebSockets.js and the rest of the server. Nothing outside src/transport
// sees a uWS object; connections and the engine talk to these interfaces.

export interface Socket {
  /** Sends one text frame. Returns false when the socket is closed or the frame was not accepted. */
  send(frame: string): boolean;
  /** Sends Close(code, reason); the `close` handler runs afterwards. */
  close(code: number, reason: string): void;
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  /** Publishes to a topic, skipping this socket (socket_id exclusion in C++). */
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
