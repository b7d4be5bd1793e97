// Which handler a request URL reaches; shared by both transports so they route identically.
import type { BoundedResponseStream } from './response-stream.js';
import type { HttpAnswer, HttpReply, StreamReply } from './types.js';

export const TEXT = 'text/plain; charset=utf-8';

export type Route =
  /** `{prefix}/app/{key}`: the WebSocket endpoint (docs/PROTOCOL.md §1.1), only under the prefix (§10.4). */
  | { kind: 'socket'; key: string }
  /** Everything else: the HTTP API, with the prefix removed when the URL carries it. */
  | { kind: 'http'; path: string };

const SOCKET_PATH = /^\/app\/([^/]+)$/;

/**
 * The prefix exists for proxies that forward `{prefix}/…` unchanged; a proxy that strips it, or a
 * server SDK talking to the server directly, reaches the same HTTP API without it.
 */
export function routeOf(url: string, prefix: string): Route {
  const prefixed = prefix === '' || url === prefix || url.startsWith(prefix + '/');
  const path = prefix !== '' && prefixed ? url.slice(prefix.length) || '/' : url;
  const socket = prefixed ? SOCKET_PATH.exec(path) : null;
  return socket === null ? { kind: 'http', path } : { kind: 'socket', key: decodePathSegment(socket[1]!) };
}

/**
 * The app key as the client meant it. A malformed escape (`%`, `%zz`, overlong UTF-8) cannot
 * name any app, so it stays raw and the handshake refuses it with 4001 like any unknown key;
 * decodeURIComponent would throw inside a transport callback and take the whole process down.
 */
export function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** A WebSocket upgrade anywhere but the socket endpoint is refused before the upgrade (§1.4, 4005). */
export const NOT_FOUND: HttpReply = { status: 404, body: 'Path not found', contentType: TEXT };

/** A browser or curl opening the WebSocket endpoint as a page. */
export function upgradeRequired(prefix: string): HttpReply {
  return {
    status: 426,
    body: `${prefix}/app/{key} is a WebSocket endpoint: connect with a Pusher client (pusher-js, Laravel Echo), not plain HTTP\n`,
    contentType: TEXT,
    headers: { Upgrade: 'websocket', Connection: 'Upgrade' },
  };
}

export const TOO_LARGE: HttpReply = { status: 413, body: 'Request body too large', contentType: TEXT };
export const INTERNAL_ERROR: HttpReply = { status: 500, body: 'Internal server error', contentType: TEXT };
/** Near the open-file limit: refuse cheaply instead of failing at accept() later. */
export const AT_CAPACITY: HttpReply = { status: 503, body: 'Server at its connection limit, retry later', contentType: TEXT, headers: { 'Retry-After': '1' } };

/** Runs the HTTP API handler; a throw or rejection becomes a 500 instead of a crash. */
export function runHandler(handle: () => HttpAnswer | Promise<HttpAnswer>, answer: (a: HttpAnswer) => void): void {
  try {
    const result = handle();
    if (result instanceof Promise) result.then(answer, () => answer(INTERNAL_ERROR));
    else answer(result);
  } catch {
    answer(INTERNAL_ERROR);
  }
}

export const isStream = (answer: HttpAnswer): answer is StreamReply => 'stream' in answer;

/**
 * Starts a streaming handler. One that throws is a server bug like any other handler's throw and
 * must not take the process down from inside a transport callback; its status line may be out
 * already, so instead of a 500 the connection is dropped (the client sees a failure, not an end).
 */
export function startStream(reply: StreamReply, out: BoundedResponseStream): void {
  try {
    reply.stream(out);
  } catch {
    out.fail();
  }
}

/** The start-up error when the port cannot be bound; the CLI prints it and exits 1. */
export function listenFailure(host: string, port: number, error?: NodeJS.ErrnoException): string {
  if (error?.code === 'EADDRINUSE' || error === undefined) {
    return `cannot listen on ${host}:${port}: the port is in use (another server running?) or the address is not available`;
  }
  return `cannot listen on ${host}:${port}: ${error.message}`;
}
