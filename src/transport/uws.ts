// The only module that imports uWebSockets.js.
import type * as uWS from 'uWebSockets.js';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ClientSocket, HttpReply, HttpRequest, SocketHandlers, TopicMembership, Transport, UpgradeInfo } from './types.js';

export interface UwsTransportOptions<Owner> {
  host: string;
  port: number;
  pathPrefix: string;
  tlsCert?: string;
  tlsKey?: string;
  maxMessageBytes: number;
  maxRequestBytes: number;
  /** Above this many buffered bytes uWS closes the socket instead of dropping frames. */
  hardBackpressureBytes: number;
  sockets: SocketHandlers<Owner>;
  http(request: HttpRequest): HttpReply | Promise<HttpReply>;
}

interface UserData<Owner> {
  /** Handed to open() and then dropped: an idle socket keeps only what it needs. */
  info: UpgradeInfo | undefined;
  socket?: UwsSocket;
  owner?: Owner;
  /** Close code when open() closed the socket before it returned its owner. */
  closedDuringOpen?: number;
}

// uWS is a CommonJS module whose exports ESM cannot detect statically.
const uws = createRequire(import.meta.url)('uWebSockets.js') as typeof uWS;
const decoder = new TextDecoder();
const STATUS_TEXT: Record<number, string> = {
  200: '200 OK', 400: '400 Bad Request', 401: '401 Unauthorized', 403: '403 Forbidden', 404: '404 Not Found',
  405: '405 Method Not Allowed', 413: '413 Payload Too Large', 429: '429 Too Many Requests',
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
    return this.isClosed ? '' : decoder.decode(this.ws.getRemoteAddressAsText());
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

export function createUwsTransport<Owner>(options: UwsTransportOptions<Owner>): Transport {
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
  const { sockets } = options;

  app.ws<UserData<Owner>>(`${prefix}/app/:key`, {
    compression: uws.DISABLED,
    // The protocol-level cap (an in-band error) is the caller's; uWS only stops abuse far above it.
    maxPayloadLength: Math.max(options.maxMessageBytes * 4, 1024 * 1024),
    // Liveness is the server's own activity sweep (pusher:ping / 4201); uWS must not cut sockets first.
    idleTimeout: 0,
    sendPingsAutomatically: false,
    maxBackpressure: options.hardBackpressureBytes,
    closeOnBackpressureLimit: true as unknown as number,
    upgrade(res, req, context) {
      const info: UpgradeInfo = {
        appKey: decodePathSegment(req.getParameter(0) ?? ''),
        query: req.getQuery() ?? '',
        origin: req.getHeader('origin'),
        tls,
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
      const data = ws.getUserData();
      data.socket!.isClosed = true;
      if (data.owner === undefined) data.closedDuringOpen = code;
      else sockets.close(data.owner, code);
    },
  });

  app.any('/*', (res, req) => {
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    const url = req.getUrl();
    const method = req.getMethod().toUpperCase();
    const query = req.getQuery() ?? '';
    const reply = (r: HttpReply) => {
      if (aborted) return;
      res.cork(() => {
        // uWS answers 200 OK unless told otherwise.
        if (r.status !== 200) res.writeStatus(STATUS_TEXT[r.status] ?? String(r.status));
        res.writeHeader('Content-Type', r.contentType ?? 'application/json');
        for (const [k, v] of Object.entries(r.headers ?? {})) res.writeHeader(k, v);
        res.end(r.body);
      });
    };
    const path = prefix !== '' && (url === prefix || url.startsWith(prefix + '/')) ? url.slice(prefix.length) || '/' : prefix === '' ? url : '';
    // A WebSocket upgrade anywhere but {prefix}/app/{key} is refused before the upgrade (§1.4, 4005).
    if (path === '' || req.getHeader('upgrade').toLowerCase() === 'websocket') {
      reply({ status: 404, body: 'Path not found', contentType: 'text/plain; charset=utf-8' });
      return;
    }
    readBody(res, options.maxRequestBytes, (body) => {
      if (aborted) return;
      if (body === undefined) {
        reply({ status: 413, body: 'Request body too large', contentType: 'text/plain; charset=utf-8' });
        return;
      }
      const request: HttpRequest = { method, path, query, body };
      const internalError = () => reply({ status: 500, body: 'Internal server error', contentType: 'text/plain; charset=utf-8' });
      try {
        const result = options.http(request);
        if (result instanceof Promise) result.then(reply, internalError);
        else reply(result);
      } catch {
        internalError();
      }
    });
  });

  let listenSocket: uWS.us_listen_socket | undefined;
  return {
    listen: () =>
      new Promise((resolve, reject) => {
        app.listen(options.host, options.port, (socket) => {
          if (!socket) {
            reject(new Error(`cannot listen on ${options.host}:${options.port} (address in use or not available)`));
            return;
          }
          listenSocket = socket;
          resolve(uws.us_socket_local_port(socket));
        });
      }),
    publish: (topic, frame) => {
      app.publish(topic, frame, false, false);
    },
    subscriberCount: (topic) => app.numSubscribers(topic),
    stopListening: () => {
      if (listenSocket !== undefined) uws.us_listen_socket_close(listenSocket);
      listenSocket = undefined;
    },
  };
}

/**
 * The app key as the client meant it. A malformed escape (`%`, `%zz`, overlong UTF-8) cannot
 * name any app, so it stays raw and the handshake refuses it with 4001 like any unknown key;
 * decodeURIComponent would throw inside a uWS callback and take the whole process down.
 */
function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
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
