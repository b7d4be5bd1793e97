// The HTTP subscriber kinds' routes, in front of the HTTP API: pusher-js's fallbacks under
// `httpPath` (docs/PROTOCOL.md §7.2) and the SSE and poll endpoints (§15). Anything else goes to
// the API router. A kind's handler that throws is a server bug: a 500, logged, never a crash.
import { jsonError, text } from '../api/reply.js';
import type { ServerContext } from '../context.js';
import type { HttpAnswer, HttpRequest } from '../transport/types.js';
import { pollEndpoint } from './poll.js';
import { pusherReceive, pusherSend } from './pusher-http.js';
import type { SessionEndpoint } from './session-request.js';
import type { HttpSessions } from './sessions.js';
import { sseEndpoint } from './sse.js';

interface SessionRoute {
  method: 'GET' | 'POST';
  /** Matched against the path after httpPath for `fallback` routes, the whole path otherwise. */
  pattern: RegExp;
  under: 'httpPath' | 'root';
  endpoint: SessionEndpoint;
  /** How an unexpected failure is answered: as the kind answers its other errors. */
  errors: 'text' | 'json';
}

/** pusher-js: `{server}/{session}` is a number below 1000 and 8 base-32 characters (http_socket.ts). */
const SESSION = '(\\d{1,3}\\/[0-9a-v]{8})';

const ROUTES: readonly SessionRoute[] = [
  { method: 'POST', under: 'httpPath', pattern: new RegExp(`^/app/([^/]+)/${SESSION}/(xhr_streaming|xhr)$`), endpoint: pusherReceive, errors: 'text' },
  { method: 'POST', under: 'httpPath', pattern: new RegExp(`^/app/([^/]+)/${SESSION}/xhr_send$`), endpoint: pusherSend, errors: 'text' },
  { method: 'GET', under: 'root', pattern: /^\/broadcasty\/sse$/, endpoint: sseEndpoint, errors: 'json' },
  { method: 'GET', under: 'root', pattern: /^\/broadcasty\/poll$/, endpoint: pollEndpoint, errors: 'json' },
];

export type HttpHandler = (request: HttpRequest) => Promise<HttpAnswer>;

export function withSessions(ctx: ServerContext, sessions: HttpSessions, api: HttpHandler): HttpHandler {
  const httpPath = ctx.config.httpPath;
  return async (request) => {
    const { path } = request;
    const underHttpPath = path.startsWith(httpPath + '/');
    for (const route of ROUTES) {
      if (route.under === 'httpPath' && !underHttpPath) continue;
      const match = route.pattern.exec(route.under === 'httpPath' ? path.slice(httpPath.length) : path);
      if (match === null) continue;
      if (route.method !== request.method) return failure(route, 405, `Method ${request.method} not allowed on ${path}`);
      try {
        return await route.endpoint({ request, match, sessions, ctx });
      } catch (error) {
        ctx.log.error({ err: error, request: `${request.method} ${path.slice(0, 200)}` }, 'HTTP session request failed with 500');
        return failure(route, 500, 'Internal server error');
      }
    }
    return api(request);
  };
}

const failure = (route: SessionRoute, status: number, message: string): HttpAnswer => (route.errors === 'json' ? jsonError : text)(status, message);
