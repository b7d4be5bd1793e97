// The transport on Node's own http/https and the `ws` package, for hosts where no native
// uWebSockets.js build loads (Node 22/24 on glibc < 2.38). Same routes, limits and close codes as
// uws.ts; fan-out encodes each frame once (topics.ts). ws enforces RFC 6455 on input: unmasked
// client frames fail with 1002, invalid UTF-8 text with 1007, oversized messages with 1009.
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket as NetSocket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { gateAccepts, type AcceptGate } from './fd-budget.js';
import { BoundedResponseStream } from './response-stream.js';
import { AT_CAPACITY, isStream, listenFailure, NOT_FOUND, routeOf, runHandler, startStream, TOO_LARGE, upgradeRequired } from './routes.js';
import { encodeTextFrame, Topics, type TopicMember } from './topics.js';
import type { ClientSocket, HttpAnswer, HttpReply, SocketHandlers, TopicMembership, Transport, TransportOptions, UpgradeInfo } from './types.js';

/** ws keeps the net socket private; fan-out writes prebuilt frames to it. */
interface WsInternals {
  _socket: NetSocket;
}

/**
 * Frames published during one turn of the event loop leave each socket in one write (cork, then
 * writev), as uWS drains its topic tree once per loop iteration: publishes that arrive together
 * under load cost one syscall per subscriber, not one per frame. One setImmediate per turn.
 */
class WriteBatch {
  private dirty: { flush(): void }[] = [];

  add(socket: { flush(): void }): void {
    if (this.dirty.push(socket) === 1) setImmediate(this.flushAll);
  }

  private readonly flushAll = () => {
    const sockets = this.dirty;
    this.dirty = [];
    for (const socket of sockets) socket.flush();
  };
}

class NodeSocket<Owner> implements ClientSocket, TopicMembership, TopicMember {
  isClosed = false;
  owner: Owner | undefined;
  /** Close code when open() closed the socket before it returned its owner. */
  closedDuringOpen: number | undefined;
  readonly joined = new Set<string>();
  /** Framed messages waiting for this turn's batch. */
  private pending: Buffer[] | undefined;
  /** Their size: bytes this socket holds before ws even sees them, part of its backlog. */
  private pendingBytes = 0;

  constructor(
    private readonly ws: WebSocket,
    private readonly hub: Topics<NodeSocket<Owner>>,
    private readonly batch: WriteBatch,
    private readonly handlers: SocketHandlers<Owner>,
    private readonly hardBackpressureBytes: number,
  ) {}

  get topics(): TopicMembership {
    return this;
  }

  get remoteAddress(): string {
    return (this.ws as unknown as WsInternals)._socket.remoteAddress ?? '';
  }

  send(frame: string): boolean {
    if (this.isClosed || this.overHardLimit()) return false;
    // Behind published frames still waiting for the batch: queue too, to keep the order.
    if (this.pending !== undefined) {
      const bytes = encodeTextFrame(frame);
      this.pending.push(bytes);
      this.pendingBytes += bytes.length;
    }
    else this.ws.send(frame);
    return true;
  }

  writeFrame(bytes: Buffer): void {
    // Not OPEN: a Close already went out (the peer's, answered by ws); nothing may follow it.
    if (this.isClosed || this.ws.readyState !== this.ws.OPEN || this.overHardLimit()) return;
    this.pendingBytes += bytes.length;
    if (this.pending !== undefined) this.pending.push(bytes);
    else {
      this.pending = [bytes];
      this.batch.add(this);
    }
  }

  flush(): void {
    const frames = this.pending;
    this.pending = undefined;
    this.pendingBytes = 0;
    if (frames === undefined || this.isClosed || this.ws.readyState !== this.ws.OPEN) return;
    const socket = (this.ws as unknown as WsInternals)._socket;
    if (frames.length === 1) {
      socket.write(frames[0]);
      return;
    }
    socket.cork();
    for (const frame of frames) socket.write(frame);
    socket.uncork();
  }

  close(code: number, reason: string): void {
    if (this.isClosed) return;
    this.flush();
    try {
      this.ws.close(code, reason);
    } catch {
      // A reason over 123 bytes cannot go in a Close frame; send the code alone.
      this.ws.close(code);
    }
    // Like uWS's end(): the close handler runs now, not after the peer's Close reply.
    this.closed(code);
  }

  subscribe(topic: string): void {
    if (!this.isClosed) this.hub.subscribe(this, topic);
  }

  unsubscribe(topic: string): void {
    if (!this.isClosed) this.hub.unsubscribe(this, topic);
  }

  publishToOthers(topic: string, frame: string): void {
    if (!this.isClosed) this.hub.publish(topic, frame, this);
  }

  bufferedBytes(): number {
    return this.isClosed ? 0 : this.ws.bufferedAmount + this.pendingBytes;
  }

  closed(code: number): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.hub.leaveAll(this);
    if (this.owner === undefined) this.closedDuringOpen = code;
    else this.handlers.close(this.owner, code);
  }

  /** uWS's closeOnBackpressureLimit: a socket this far behind is cut, never silently skipped. */
  private overHardLimit(): boolean {
    if (this.ws.bufferedAmount + this.pendingBytes <= this.hardBackpressureBytes) return false;
    this.ws.terminate();
    this.closed(1006);
    return true;
  }
}

export function createNodeTransport<Owner>(options: TransportOptions<Owner>): Transport {
  const tls = options.tlsCert !== undefined && options.tlsKey !== undefined;
  const server: Server = tls
    ? createHttpsServer({ cert: readFileSync(options.tlsCert!), key: readFileSync(options.tlsKey!) })
    : createHttpServer();
  const prefix = options.pathPrefix;
  const { sockets, fds } = options;
  const topics = new Topics<NodeSocket<Owner>>();
  const batch = new WriteBatch();
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    // The protocol-level cap (an in-band error) is the caller's; ws only stops abuse far above it.
    maxPayload: Math.max(options.maxMessageBytes * 4, 1024 * 1024),
  });
  let gate: AcceptGate | undefined;

  server.on('connection', (connection: NetSocket) => {
    gate?.opened();
    connection.once('close', () => gate?.closed());
  });

  server.on('upgrade', (req: IncomingMessage, raw: Duplex, head: Buffer) => {
    raw.on('error', () => raw.destroy());
    const [url, query] = splitUrl(req.url);
    const route = routeOf(url, prefix);
    if (route.kind !== 'socket' || req.headers.upgrade?.toLowerCase() !== 'websocket') {
      refuseRaw(raw, NOT_FOUND);
      return;
    }
    const info: UpgradeInfo = { appKey: route.key, query, origin: req.headers.origin ?? '', tls, atCapacity: fds.full };
    wss.handleUpgrade(req, raw, head, (ws) => {
      const socket = new NodeSocket(ws, topics, batch, sockets, options.hardBackpressureBytes);
      // Protocol violations (1002/1007/1009) are answered by ws itself; the error is only reported.
      ws.on('error', () => {});
      ws.on('message', (data: Buffer | Buffer[], isBinary: boolean) => {
        // Binary frames are not part of the protocol; decode them as text like soketi does.
        void isBinary;
        if (!socket.isClosed) sockets.message(socket.owner!, Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(data).toString('utf8'));
      });
      ws.on('ping', () => sockets.activity(socket.owner!));
      ws.on('pong', () => sockets.activity(socket.owner!));
      (ws as unknown as WsInternals)._socket.on('drain', () => {
        if (!socket.isClosed) sockets.drain(socket.owner!);
      });
      ws.on('close', (code: number) => socket.closed(code));
      socket.owner = sockets.open(socket, info);
      // A refusal inside open() (draining, over capacity) closed before the owner existed.
      if (socket.closedDuringOpen !== undefined) sockets.close(socket.owner, socket.closedDuringOpen);
    });
  });

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const [url, query] = splitUrl(req.url);
    const route = routeOf(url, prefix);
    const reply = (r: HttpReply) => send(res, r);
    const answer = (a: HttpAnswer) => {
      if (!isStream(a)) return reply(a);
      if (res.headersSent || res.destroyed) return;
      const stream = new NodeResponseStream(res, options.maxStreamBufferBytes);
      res.on('drain', () => stream.resumed());
      res.on('close', () => stream.clientGone());
      res.writeHead(a.status, { 'Content-Type': a.contentType ?? 'application/json', ...a.headers });
      startStream(a, stream);
    };
    if (route.kind === 'socket') return reply(upgradeRequired(prefix));
    if (req.headers.upgrade?.toLowerCase() === 'websocket') return reply(NOT_FOUND);
    if (fds.full) return reply(AT_CAPACITY);
    if (Number(req.headers['content-length'] ?? 0) > options.maxRequestBytes) return reply(TOO_LARGE);
    // Read now: once the client has gone, the socket no longer knows its peer.
    const remoteAddress = req.socket.remoteAddress ?? '';
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size <= options.maxRequestBytes) chunks.push(chunk);
      else if (!res.headersSent) reply(TOO_LARGE);
    });
    req.on('end', () => {
      if (size > options.maxRequestBytes) return;
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      const request = { method: (req.method ?? 'GET').toUpperCase(), path: route.path, query, body, headers: readHeaders(req), remoteAddress, tls };
      runHandler(() => options.http(request), answer);
    });
  });

  const listenOnce = () =>
    new Promise<number>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        reject(new Error(listenFailure(options.host, options.port, error)));
      };
      server.once('error', onError);
      // exclusive: a cluster worker binds on its own instead of sharing the primary's handle.
      server.listen({ host: options.host, port: options.port, exclusive: options.exclusivePort }, () => {
        server.off('error', onError);
        resolve((server.address() as { port: number }).port);
      });
    });

  return {
    listen: async () => {
      const port = await listenOnce();
      gate = gateAccepts(fds, {
        pause: () => server.close(),
        resume: () => server.listen({ host: options.host, port, exclusive: options.exclusivePort }),
      });
      return port;
    },
    publish: (topic, frame) => topics.publish(topic, frame),
    subscriberCount: (topic) => topics.count(topic),
    stopListening: () => {
      gate?.stop();
      if (server.listening) server.close();
    },
  };
}

function splitUrl(url: string | undefined): [path: string, query: string] {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  return q < 0 ? [raw, ''] : [raw.slice(0, q), raw.slice(q + 1)];
}

/** Lower-cased names, every repeat joined with ", " (Node's req.headers drops repeats of some names). */
function readHeaders(req: IncomingMessage): Record<string, string> {
  const headers = Object.create(null) as Record<string, string>;
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i]!.toLowerCase();
    const seen = headers[key];
    headers[key] = seen === undefined ? raw[i + 1]! : `${seen}, ${raw[i + 1]!}`;
  }
  return headers;
}

/** A streamed response on Node: res.write's own backpressure (highWaterMark, 'drain'). */
class NodeResponseStream extends BoundedResponseStream {
  constructor(
    private readonly res: ServerResponse,
    maxBufferedBytes: number,
  ) {
    super(maxBufferedBytes);
  }

  bufferedBytes(): number {
    // The response's own queue plus its socket's.
    return this.res.writableLength;
  }

  protected send(chunk: string): boolean {
    return this.res.write(chunk);
  }

  protected finish(): void {
    this.res.end();
  }

  protected terminate(): void {
    this.res.destroy();
  }
}

function send(res: ServerResponse, r: HttpReply): void {
  if (res.headersSent || res.destroyed) return;
  const body = Buffer.from(r.body);
  const closing = r.status === 413 || r.status === 503;
  res.writeHead(r.status, {
    'Content-Type': r.contentType ?? 'application/json',
    'Content-Length': body.byteLength,
    ...(closing ? { Connection: 'close' } : {}),
    ...r.headers,
  });
  res.end(body);
}

/** An answer on a socket that never became an HTTP response (refused upgrade). */
function refuseRaw(raw: Duplex, r: HttpReply): void {
  const body = Buffer.from(r.body);
  raw.end(
    `HTTP/1.1 ${r.status} ${STATUS_CODES[r.status] ?? ''}\r\nContent-Type: ${r.contentType ?? 'application/json'}\r\nContent-Length: ${body.byteLength}\r\nConnection: close\r\n\r\n${r.body}`,
  );
}
