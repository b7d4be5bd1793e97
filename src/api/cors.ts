// CORS for the HTTP API (docs/PROTOCOL.md §5, §14.5), per app: a browser page may call
// `/apps/{id}/…` or `/broadcasty/…?app={key}` when its Origin passes the app's `allowedOrigins`,
// the same list that admits its WebSockets (§1.2). One list per app on purpose: the pages allowed
// to hold a socket are the pages that use the HTTP transports and endpoints next to it. Requests
// without an Origin (server SDKs, curl) pass through untouched and cost nothing.
import { parseQuery } from '../../protocol/index.js';
import { originAllowed } from '../apps/origins.js';
import type { App, AppRegistry } from '../apps/registry.js';
import { decodePathSegment } from '../transport/routes.js';
import type { HttpAnswer, HttpReply, HttpRequest } from '../transport/types.js';
import { jsonError, text } from './reply.js';
import { isBroadcastyPath } from './routes.js';

type Handler<A extends HttpAnswer> = (request: HttpRequest) => Promise<A>;

const APP_PATH = /^\/apps\/([^/]+)\//;
/** `/app/{key}/…` after the httpPath of pusher-js's fallbacks. */
const FALLBACK_KEY = /^\/app\/([^/]+)\//;
/** The /broadcasty endpoints that apps in hmac mode have too. */
const OPEN_TO_EVERY_MODE = new Set(['/broadcasty/sse', '/broadcasty/poll']);

/** What a preflight may ask for: the API's methods and the headers its clients send. */
const PREFLIGHT: Record<string, string> = {
  'Access-Control-Allow-Methods': 'GET, POST, DELETE',
  'Access-Control-Allow-Headers': 'Authorization, Content-Type, Last-Event-ID, X-Requested-With, Idempotency-Key, X-Broadcasty-Nonce, X-Broadcasty-Timestamp',
  // Short enough that an allowedOrigins change reaches browsers within minutes.
  'Access-Control-Max-Age': '600',
};

/** On every answer to an allowed origin; Retry-After so a page can honour 429 and 503. */
const allowHeaders = (origin: string): Record<string, string> => ({
  'Access-Control-Allow-Origin': origin,
  'Access-Control-Expose-Headers': 'Retry-After',
  Vary: 'Origin',
});

/** Which app a request addresses, as its path names it; null when the path names none. */
interface AppRef {
  find(registry: AppRegistry): Promise<App | undefined>;
  /** How a preflight for it answers errors: as the endpoint behind it would. */
  fail(status: number, message: string): HttpReply;
  /** The app as the 403 names it. */
  name: string;
  /** The 404 when no such app (with JWT endpoints) exists. */
  unknown: string;
}

function appRefOf(request: HttpRequest, httpPath: string): AppRef | null {
  const fallback = request.path.startsWith(httpPath + '/app/') ? FALLBACK_KEY.exec(request.path.slice(httpPath.length)) : null;
  if (fallback !== null) {
    // pusher-js's HTTP fallbacks (§7.2): the app key is in the path, every auth mode has them.
    const key = decodePathSegment(fallback[1]!);
    return { find: (registry) => registry.findByKey(key), fail: text, name: `app key ${key.slice(0, 100)}`, unknown: `Unknown app key ${key.slice(0, 100)}` };
  }
  if (OPEN_TO_EVERY_MODE.has(request.path)) {
    // SSE and poll (§15) serve public channels to apps of every auth mode.
    const key = parseQuery(request.query).get('app') ?? '';
    const name = `app key ${key.slice(0, 100)}`;
    return { find: (registry) => registry.findByKey(key), fail: jsonError, name, unknown: `Unknown ${name}` };
  }
  if (isBroadcastyPath(request.path)) {
    const key = parseQuery(request.query).get('app') ?? '';
    // §14.1: apps in hmac mode have no /broadcasty endpoints, so no origin may call them.
    const name = `app key ${key.slice(0, 100)}`;
    return { find: async (registry) => withJwt(await registry.findByKey(key)), fail: jsonError, name, unknown: `Unknown ${name}, or the app does not use JWT (authMode hmac)` };
  }
  const appPath = APP_PATH.exec(request.path);
  if (appPath === null) return null;
  const appId = decodePathSegment(appPath[1]!);
  return { find: (registry) => registry.findById(appId), fail: text, name: `app ${appId}`, unknown: `Unknown app id ${appId}` };
}

const withJwt = (app: App | undefined) => (app?.authMode === 'hmac' ? undefined : app);

/** Wraps the API handler: answers preflights, adds Access-Control-Allow-Origin to allowed origins' answers. */
export function withCors<A extends HttpAnswer>(registry: AppRegistry, httpPath: string, handle: Handler<A>): Handler<A | HttpReply> {
  // Not async itself: a request without Origin (every server SDK) costs no extra promise.
  return (request) => {
    const origin = request.headers.origin;
    const ref = origin === undefined ? null : appRefOf(request, httpPath);
    return origin === undefined || ref === null ? handle(request) : withOrigin(request, origin, ref);
  };

  async function withOrigin(request: HttpRequest, origin: string, ref: AppRef): Promise<A | HttpReply> {
    const app = await ref.find(registry);
    const allowed = app !== undefined && originAllowed(app.allowedOrigins, origin);
    if (request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined) {
      if (app === undefined) return ref.fail(404, ref.unknown);
      if (!allowed) return ref.fail(403, `Origin ${origin} is not allowed for ${ref.name}: add it to the app's allowedOrigins`);
      return { status: 204, body: '', headers: { ...allowHeaders(origin), ...PREFLIGHT } };
    }
    const answer = await handle(request);
    return allowed ? { ...answer, headers: { ...answer.headers, ...allowHeaders(origin) } } : answer;
  }
}
