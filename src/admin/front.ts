// The admin API and the console in front of the rest of the HTTP handlers (docs/PROTOCOL.md
// §17.1): `/admin/*` behind one token check, then the route's handler; `{consolePath}` serves
// the console's files. Everything else goes on to `next`.
import { parseQuery } from '../../protocol/index.js';
import { errorReply, matchRoute, serverFault } from '../api/error-reply.js';
import { jsonError } from '../api/reply.js';
import type { ServerContext } from '../context.js';
import type { HttpAnswer, HttpRequest } from '../transport/types.js';
import { mayAccess } from './access.js';
import { ConsoleFiles } from './console-files.js';
import { appStats, channelHistory, listApps, listChannels, publishEvent, showChannel, terminateUser, whoami, type AdminEndpoint, type AdminInput } from './endpoints.js';
import type { AdminNode } from './node.js';
import { tapStream } from './tap-stream.js';

type HttpHandler = (request: HttpRequest) => Promise<HttpAnswer>;

interface AdminRoute {
  method: 'GET' | 'POST';
  /** Group 1 is the app id; group 2, when there is one, the `second` route parameter. */
  pattern: RegExp;
  endpoint: AdminEndpoint;
  second?: 'channel' | 'userId';
}

/** Routes about the actor, not one app. */
const APPLESS: Record<string, (input: Pick<AdminInput, 'actor' | 'ctx'>) => Promise<HttpAnswer>> = {
  '/admin/whoami': whoami,
  '/admin/apps': listApps,
};

const decode = (value: string | undefined) => (value === undefined ? undefined : decodeURIComponent(value));

const ROUTES: readonly AdminRoute[] = [
  { method: 'GET', pattern: /^\/admin\/apps\/([^/]+)\/stats$/, endpoint: appStats },
  { method: 'GET', pattern: /^\/admin\/apps\/([^/]+)\/channels$/, endpoint: listChannels },
  { method: 'GET', pattern: /^\/admin\/apps\/([^/]+)\/channels\/([^/]+)$/, endpoint: showChannel, second: 'channel' },
  { method: 'GET', pattern: /^\/admin\/apps\/([^/]+)\/channels\/([^/]+)\/history$/, endpoint: channelHistory, second: 'channel' },
  { method: 'POST', pattern: /^\/admin\/apps\/([^/]+)\/events$/, endpoint: publishEvent },
  { method: 'POST', pattern: /^\/admin\/apps\/([^/]+)\/users\/([^/]+)\/terminate$/, endpoint: terminateUser, second: 'userId' },
  { method: 'GET', pattern: /^\/admin\/apps\/([^/]+)\/tap$/, endpoint: tapStream },
];

const isAdminPath = (path: string) => path === '/admin' || path.startsWith('/admin/');

const NOT_JSON = 'POST to the admin API needs Content-Type: application/json';

/**
 * A cross-site form or a no-CORS fetch can only send text/plain, urlencoded or multipart bodies
 * without a preflight; asking for JSON makes a POST impossible to forge from another page.
 */
const isJson = (request: HttpRequest) => (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase() === 'application/json';

export function withAdmin(ctx: ServerContext, admin: AdminNode, next: HttpHandler): HttpHandler {
  const consoleFiles = ctx.config.console ? new ConsoleFiles(ctx.config.consolePath, ctx.config.pathPrefix) : undefined;
  const consolePath = ctx.config.consolePath;
  return async (request) => {
    const { path } = request;
    if (path === consolePath || path.startsWith(consolePath + '/')) {
      if (consoleFiles === undefined) return next(request);
      const refusal = admin.access.consoleRefusal(request);
      return refusal === undefined ? consoleFiles.serve(request.method, path.slice(consolePath.length)) : jsonError(refusal.status, refusal.message);
    }
    if (!isAdminPath(path)) return next(request);
    try {
      return await answer(ctx, admin, request);
    } catch (error) {
      return errorReply(error, jsonError) ?? serverFault(ctx.log, 'admin API', request, error, jsonError);
    }
  };
}

async function answer(ctx: ServerContext, admin: AdminNode, request: HttpRequest): Promise<HttpAnswer> {
  const { method, path } = request;
  const checked = admin.access.check(request);
  if (!checked.ok) {
    if (checked.status === 401) admin.refused(checked.message, request);
    return jsonError(checked.status, checked.message);
  }
  const { actor } = checked;
  const appless = Object.hasOwn(APPLESS, path) ? APPLESS[path] : undefined;
  if (appless !== undefined) return method === 'GET' ? appless({ actor, ctx }) : jsonError(405, `Method ${method} not allowed on ${path}`);
  const routed = matchRoute(ROUTES, method, path, jsonError);
  if (!('route' in routed)) return routed;
  const { route, match: groups } = routed;
  if (method === 'POST' && !isJson(request)) return jsonError(415, NOT_JSON);
  const params = parseQuery(request.query);
  const appId = decode(groups[1])!;
  // Out of scope answers exactly as unknown: a scoped token learns nothing of other apps.
  const app = mayAccess(actor, appId) ? await ctx.registry.findById(appId) : undefined;
  if (app === undefined) return jsonError(404, `Unknown app ${appId}`);
  const routeParams = route.second === undefined ? {} : { [route.second]: decode(groups[2]) };
  return route.endpoint({ app, actor, request, params, route: routeParams, ctx, admin });
}
