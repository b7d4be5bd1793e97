// CORS for the HTTP API (docs/PROTOCOL.md §5), per app: a browser page may call `/apps/{id}/…` when
// its Origin passes the app's `allowedOrigins`, the same list that admits its WebSockets
// (§1.2). One list per app on purpose: the pages allowed to hold a socket are the pages that use
// the HTTP transports and endpoints next to it. Requests without an Origin (server SDKs, curl)
// pass through untouched and cost nothing.
import { originAllowed } from '../apps/origins.js';
import type { AppRegistry } from '../apps/registry.js';
import { decodePathSegment } from '../transport/routes.js';
import type { HttpAnswer, HttpReply, HttpRequest } from '../transport/types.js';
import { text } from './reply.js';

type Handler<A extends HttpAnswer> = (request: HttpRequest) => Promise<A>;

const APP_PATH = /^\/apps\/([^/]+)\//;

/** What a preflight may ask for: the API's methods and the headers its clients send. */
const PREFLIGHT: Record<string, string> = {
  'Access-Control-Allow-Methods': 'GET, POST',
  'Access-Control-Allow-Headers': 'Authorization, Content-Type, Last-Event-ID, X-Requested-With',
  // Short enough that an allowedOrigins change reaches browsers within minutes.
  'Access-Control-Max-Age': '600',
};

/** On every answer to an allowed origin; Retry-After so a page can honour 429 and 503. */
const allowHeaders = (origin: string): Record<string, string> => ({
  'Access-Control-Allow-Origin': origin,
  'Access-Control-Expose-Headers': 'Retry-After',
  Vary: 'Origin',
});

/** Wraps the API handler: answers preflights, adds Access-Control-Allow-Origin to allowed origins' answers. */
export function withCors<A extends HttpAnswer>(registry: AppRegistry, handle: Handler<A>): Handler<A | HttpReply> {
  // Not async itself: a request without Origin (every server SDK) costs no extra promise.
  return (request) => {
    const origin = request.headers.origin;
    const appPath = origin === undefined ? null : APP_PATH.exec(request.path);
    return origin === undefined || appPath === null ? handle(request) : withOrigin(request, origin, appPath[1]!);
  };

  async function withOrigin(request: HttpRequest, origin: string, appPathSegment: string): Promise<A | HttpReply> {
    const appId = decodePathSegment(appPathSegment);
    const app = await registry.findById(appId);
    const allowed = app !== undefined && originAllowed(app.allowedOrigins, origin);
    if (request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined) {
      if (app === undefined) return text(404, `Unknown app id ${appId}`);
      if (!allowed) return text(403, `Origin ${origin} is not allowed for app ${appId}: add it to the app's allowedOrigins`);
      return { status: 204, body: '', headers: { ...allowHeaders(origin), ...PREFLIGHT } };
    }
    const answer = await handle(request);
    return allowed ? { ...answer, headers: { ...answer.headers, ...allowHeaders(origin) } } : answer;
  }
}
