// The native transport: uWebSockets.js (loaded by load-uws.ts; the only module using its API).
import type * as uWS from 'uWebSockets.js';
import { readFileSync } from 'node:fs';
import { gateAccepts, type AcceptGate } from './fd-budget.js';
import type { UwsModule } from './load-uws.js';
import { BoundedResponseStream } from './response-stream.js';
import { AT_CAPACITY, decodePathSegment, isStream, listenFailure, NOT_FOUND, routeOf, runHandler, startStream, TOO_LARGE, upgradeRequired } from './routes.js';
import type { ClientSocket, HttpAnswer, HttpReply, StreamReply, TopicMembership, Transport, TransportOptions, UpgradeInfo } from './types.js';

interface UserData<Owner> {
  /** Handed to open() and then dropped: an idle socket keeps only what it needs. */
  info: UpgradeInfo | undefined;
  socket?: UwsSocket;
  owner?: Owner;
  /** Close code when open() closed the socket before it returned its owner. */
  closedDuringOpen?: number;
}

const decoder = new TextDecoder();
/** The peer address is a few ASCII bytes: a latin1 copy, where TextDecoder's per-call cost showed in HTTP API profiles. */
const addressText = (bytes: ArrayBuffer): string => Buffer.from(bytes).toString('latin1');
const STATUS_TEXT: Record<number, string> = {
  200: '200 OK', 204: '204 No Content', 400: '400 Bad Request', 401: '401 Unauthorized', 403: '403 Forbidden', 404: '404 Not Found',
  405: '405 Method Not Allowed', 413: '413 Payload Too Large', 415: '415 Unsupported Media Type', 426: '426 Upgrade Required', 429: '429 Too Many Requests',
  500: '500 Internal Server Error', 503: '503 Service Unavailable',
};

class UwsSocket implements ClientSocket, TopicMembership {
  isClosed = false;
  constructor(private readonly ws: uWS.WebSocket<unknown>) {}

  /** The socket is its own topic membership (a getter: no field per idle socket). */
  get topics(): TopicMembership {
    return this;
  }

  /** Asked of uWS each time rather than kept: an idle socket holds no string for it. */
  get remoteAddress(): string {
    return this.isClosed ? '' : addressText(this.ws.getRemoteAddressAsText());
  }

  send(frame: string): boolean {
    if (this.isClosed) return false;
    return this.ws.send(frame, false, false) !== 2;
  }

  close(code: number, reason: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.ws.end(code, reason);
  }

  subscribe(topic: string): void {
    if (!this.isClosed) this.ws.subscribe(topic);
  }

  unsubscribe(topic: string): void {
    if (!this.isClosed) this.ws.unsubscribe(topic);
  }

  publishToOthers(topic: string, frame: string): void {
    if (!this.isClosed) this.ws.publish(topic, frame, false, false);
  }

  bufferedBytes(): number {
    return this.isClosed ? 0 : this.ws.getBufferedAmount();
  }
}

export function createUwsTransport<Owner>(uws: UwsModule, options: TransportOptions<Owner>): Transport {
  const tls = options.tlsCert !== undefined && options.tlsKey !== undefined;
  const app = tls
    ? uws.SSLApp({ cert_file_name: options.tlsCert, key_file_name: options.tlsKey })
    : uws.App();
  if (tls) {
    // Fail at start with a clear message rather than a silent listen failure.
    readFileSync(options.tlsCert!);
    readFileSync(options.tlsKey!);
  }
  const prefix = options.pathPrefix;
  const { sockets, fds } = options;
  let gate: AcceptGate | undefined;

  app.ws<UserData<Owner>>(`${prefix}/app/:key`, {
    compression: uws.DISABLED,
    // The protocol-level cap (an in-band error) is the caller's; uWS only stops abuse far above it.
    maxPayloadLength: Math.max(options.maxMessageBytes * 4, 1024 * 1024),
    // Liveness is the server's own activity sweep (pusher:ping / 4201); uWS must not cut sockets first.
    idleTimeout: 0,
    sendPingsAutomatically: false,
    maxBackpressure: options.hardBackpressureBytes,
    closeOnBackpressureLimit: true,
    upgrade(res, req, context) {
      const info: UpgradeInfo = {
        appKey: decodePathSegment(req.getParameter(0) ?? ''),
        query: req.getQuery() ?? '',
        origin: req.getHeader('origin'),
        tls,
        atCapacity: fds.full,
      };
      res.upgrade<UserData<Owner>>(
        { info },
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },
    open(ws) {
      // uWS shows JS no accept or close of a plain HTTP connection (the 1 s sample counts those);
      // WebSockets, which stay, are tracked as they come and go.
      gate?.opened();
      const data = ws.getUserData();
      data.socket = new UwsSocket(ws as uWS.WebSocket<unknown>);
      data.owner = sockets.open(data.socket, data.info!);
      data.info = undefined;
      // A refusal inside open() (draining, over capacity) closes synchronously, before uWS
      // could hand the close handler an owner: deliver that close now.
      if (data.closedDuringOpen !== undefined) sockets.close(data.owner, data.closedDuringOpen);
    },
    message(ws, message, isBinary) {
      const data = ws.getUserData();
      // Binary frames are not part of the protocol; decode them as text like soketi does.
      void isBinary;
      sockets.message(data.owner!, decoder.decode(message));
    },
    ping(ws) {
      sockets.activity(ws.getUserData().owner!);
    },
    pong(ws) {
      sockets.activity(ws.getUserData().owner!);
    },
    drain(ws) {
      sockets.drain(ws.getUserData().owner!);
    },
    close(ws, code) {
      gate?.closed();
      const data = ws.getUserData();
      data.socket!.isClosed = true;
      if (data.owner === undefined) data.closedDuringOpen = code;
      else sockets.close(data.owner, code);
    },
  });

  app.any('/*', (res, req) => {
    let aborted = false;
    let stream: UwsResponseStream | undefined;
    res.onAborted(() => {
      aborted = true;
      stream?.clientGone();
    });
    // Everything from req now: uWS frees it when this callback returns.
    const method = req.getMethod().toUpperCase();
    const query = req.getQuery() ?? '';
    const headers = readHeaders(req);
    const reply = (r: HttpReply) => {
      if (aborted) return;
      res.cork(() => {
        writeHead(res, r);
        res.end(r.body);
      });
    };
    const answer = (a: HttpAnswer) => {
      if (aborted) return;
      if (!isStream(a)) return reply(a);
      stream = new UwsResponseStream(res, options.maxStreamBufferBytes);
      res.cork(() => writeHead(res, a));
      res.onWritable(() => {
        stream!.drained();
        // uWS.js exits the process when this returns anything but a boolean.
        return true;
      });
      startStream(a, stream);
    };
    if (smuggling(headers)) {
      // Dropped without an answer. uWS keeps parsing the same read after end(…, closeConnection),
      // corked or not, and serves the hidden request; a close() after a written-but-unended 400
      // loses the 400 as well. Only close() alone stops it: the client sees the connection end.
      res.close();
      return;
    }
    const route = routeOf(req.getUrl(), prefix);
    // A GET of the socket endpoint that uWS did not upgrade (no or bad handshake headers).
    if (route.kind === 'socket') return reply(upgradeRequired(prefix));
    if ((headers.upgrade ?? '').toLowerCase() === 'websocket') return reply(NOT_FOUND);
    if (fds.full) return reply(AT_CAPACITY);
    const remoteAddress = addressText(res.getRemoteAddressAsText());
    readBody(res, options.maxRequestBytes, (body) => {
      if (aborted) return;
      if (body === undefined) return reply(TOO_LARGE);
      runHandler(() => options.http({ method, path: route.path, query, body, headers, remoteAddress, tls }), answer);
    });
  });

  let listenSocket: uWS.us_listen_socket | undefined;
  // Without the flag uSockets sets SO_REUSEPORT and a second server on the port accepts too.
  const listenOptions = options.exclusivePort ? (uws as unknown as { LIBUS_LISTEN_EXCLUSIVE_PORT: number }).LIBUS_LISTEN_EXCLUSIVE_PORT : 0;
  // The typings lack the (host, port, options, cb) form that AppWrapper.h accepts.
  const listenWithOptions = app.listen as unknown as (host: string, port: number, flags: number, cb: (socket: uWS.us_listen_socket | false) => void) => void;
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      listenWithOptions.call(app, options.host, port, listenOptions, (socket) => {
        if (!socket) return reject(new Error(listenFailure(options.host, port)));
        listenSocket = socket;
        resolve(uws.us_socket_local_port(socket));
      });
    });
  const closeListenSocket = () => {
    if (listenSocket !== undefined) uws.us_listen_socket_close(listenSocket);
    listenSocket = undefined;
  };
  return {
    listen: async () => {
      const port = await listen(options.port);
      gate = gateAccepts(fds, { pause: closeListenSocket, resume: () => void listen(port).catch(() => undefined) });
      return port;
    },
    publish: (topic, frame) => {
      app.publish(topic, frame, false, false);
    },
    subscriberCount: (topic) => app.numSubscribers(topic),
    stopListening: () => {
      gate?.stop();
      closeListenSocket();
    },
  };
}

/** Status line, Content-Type and the reply's headers; the body or the stream follows. */
function writeHead(res: uWS.HttpResponse, r: HttpReply | StreamReply): void {
  // uWS answers 200 OK unless told otherwise.
  if (r.status !== 200) res.writeStatus(STATUS_TEXT[r.status] ?? String(r.status));
  res.writeHeader('Content-Type', r.contentType ?? 'application/json');
  const headers = r.headers;
  if (headers !== undefined) for (const name in headers) res.writeHeader(name, headers[name]!);
}

/** Lower-cased names (as uWS gives them), repeats joined with ", " as Node's parser does. */
function readHeaders(req: uWS.HttpRequest): Record<string, string> {
  const headers = Object.create(null) as Record<string, string>;
  req.forEach((key, value) => {
    const seen = headers[key];
    headers[key] = seen === undefined ? value : `${seen}, ${value}`;
  });
  return headers;
}

/**
 * uWS takes the first of two Content-Length headers and parses the rest of the body as the next
 * request; a proxy in front that took the other one would let a hidden request through
 * (RFC 9112 §6.3: a conflicting length is unrecoverable). Transfer-Encoding beside
 * Content-Length is the same attack. Node's parser refuses both with 400 itself. A repeated
 * Content-Length shows as a joined list (readHeaders); a single valid one has no comma.
 */
function smuggling(headers: Record<string, string>): boolean {
  const length = headers['content-length'];
  return length !== undefined && (length.includes(',') || headers['transfer-encoding'] !== undefined);
}

/**
 * A streamed response on uWS. uWS keeps what the socket did not take in its own buffer and does
 * not say how much; once a response has an onWritable handler it also stops draining that buffer
 * by itself, so every writable event drains it here (an empty cork: uncorking flushes the backlog).
 */
class UwsResponseStream extends BoundedResponseStream {
  /** Bytes handed to uWS since it last took a whole write: its backlog, give or take a cork buffer. */
  private backlog = 0;

  constructor(
    private readonly res: uWS.HttpResponse,
    maxBufferedBytes: number,
  ) {
    super(maxBufferedBytes);
  }

  bufferedBytes(): number {
    return this.backlog;
  }

  /** uWS: the socket is writable again. */
  drained(): void {
    if (this.isClosed) return;
    this.res.cork(() => {});
    this.resumed();
  }

  protected send(chunk: string): boolean {
    let taken = false;
    // A write drains the earlier backlog first, so true means nothing is left behind.
    this.res.cork(() => {
      taken = this.res.write(chunk);
    });
    this.backlog = taken ? 0 : this.backlog + Buffer.byteLength(chunk);
    return taken;
  }

  protected finish(): void {
    this.res.cork(() => this.res.end());
  }

  protected terminate(): void {
    this.res.close();
  }
}

/** Collects the request body; calls back with undefined once it exceeds the cap. */
function readBody(res: uWS.HttpResponse, maxBytes: number, done: (body: Buffer | undefined) => void): void {
  let chunks: Buffer[] = [];
  let size = 0;
  let overflow = false;
  res.onData((chunk, isLast) => {
    if (!overflow) {
      size += chunk.byteLength;
      if (size > maxBytes) {
        overflow = true;
        chunks = [];
      } else {
        // uWS reuses the chunk's memory after this callback returns: copy it.
        chunks.push(Buffer.from(new Uint8Array(chunk)));
      }
    }
    if (isLast) done(overflow ? undefined : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
  });
}
