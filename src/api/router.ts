// The HTTP API front door: probes, then the route table (routes.ts) — app lookup, the JWT
// endpoints' per-IP window, the route's authentication (src/auth/), app state and rate limit, the
// JWT endpoints' guard step, then the route's handler (docs/PROTOCOL.md §5, §14.5, §14.6, §16.4).
import { parseQuery } from '../../protocol/index.js';
import { capped, refusalReason } from '../activity/auth-failures.js';
import type { App } from '../apps/registry.js';
import type { ServerContext } from '../context.js';
import { authenticate } from '../auth/request-auth.js';
import type { Principal } from '../auth/types.js';
import { beamsError, isBeamsPath } from './beams.js';
import { readiness } from '../readiness.js';
import type { HttpReply, HttpRequest } from '../transport/types.js';
import { countPerIp, guardRequest } from './broadcasty/guard.js';
import { AccessDenied } from './broadcasty/input.js';
import { errorReply, matchRoute, serverFault, type Fail } from './error-reply.js';
import { HttpError, json, jsonError, text } from './reply.js';
import { isBroadcastyPath, ROUTES, segment } from './routes.js';

export function createApiRouter(ctx: ServerContext): (request: HttpRequest) => Promise<HttpReply> {
  // Client input is answered with a 4xx, an engine outage with a 503; what else throws is the
  // server's fault (a failing registry, a bug): a 500. /ready's 503 is an answer, not a failure.
  return async (request) => {
    const fail = failFor(request.path);
    try {
      return await answer(ctx, request, fail);
    } catch (error) {
      return errorReply(error, fail) ?? serverFault(ctx.log, 'HTTP API', request, error, fail);
    }
  };
}

/** How a path answers its errors: JSON on /broadcasty/* (§14.7), Beams' JSON on its API (§16.4), plain text as Pusher's API (§5.8). */
const failFor = (path: string): Fail => (isBroadcastyPath(path) ? jsonError : isBeamsPath(path) ? beamsError : text);

async function answer(ctx: ServerContext, request: HttpRequest, fail: Fail): Promise<HttpReply> {
  const { method, path } = request;
  if (method === 'GET' && (path === '/up' || path === '/')) return json({ health: 'OK' });
  if (method === 'GET' && path === '/ready') {
    const ready = readiness(ctx);
    return json(ready.body, ready.status);
  }
  const routed = matchRoute(ROUTES, method, path, fail);
  if (!('route' in routed)) return routed;
  const { route, match } = routed;
  let app: App | undefined;
  let principal: Principal | undefined;
  try {
    app = route.api === 'broadcasty' ? await broadcastyApp(ctx, request) : await ctx.registry.findById(segment(match[1]!));
    if (app === undefined) return fail(404, `Unknown app id ${match[1]}`);
    if (route.api === 'broadcasty') await countPerIp(ctx, app, request);
    // HMAC answers synchronously: the SDKs' requests pay for no extra promise.
    const checked = authenticate(route.auth, app, request, ctx.engine);
    const authenticated = checked instanceof Promise ? await checked : checked;
    if (!authenticated.ok) {
      if (authenticated.status === 401 || authenticated.status === 403) refused(ctx, request, app, authenticated.message);
      return fail(authenticated.status, authenticated.message);
    }
    if (!app.enabled) return fail(403, 'Application disabled');
    ctx.metrics.forApp(app.id).httpRequests.inc();
    // Cluster-wide with the Redis engine: every node counts the same epoch-second window.
    if (app.httpRateLimit !== null && (await ctx.engine.countHit(app.id, 'requests', Date.now())) > app.httpRateLimit) {
      return { ...fail(429, `Too many requests: at most ${app.httpRateLimit} per second for this app`), headers: { 'Retry-After': '1' } };
    }
    principal = authenticated.principal;
    if (route.api === 'broadcasty') await guardRequest(ctx, app, principal!, request);
    return await route.endpoint({ app, body: request.body, headers: request.headers, params: authenticated.params, route: route.params(match), principal, ctx });
  } catch (error) {
    // The JWT guard's 401s (nonce, timestamp, replay) and the policy's 403s are refusals of who asks.
    if (app !== undefined && (error instanceof AccessDenied || (error instanceof HttpError && error.status === 401))) {
      refused(ctx, request, app, error.message, error instanceof AccessDenied ? error.channel : undefined, principal);
    }
    // Answered by createApiRouter, as an error before the app was known is.
    throw error;
  }
}

/** An auth_failure on the HTTP API: the message the client got (its signature withheld) and who asked. */
function refused(ctx: ServerContext, request: HttpRequest, app: App, reason: string, channel?: string, principal?: Principal): void {
  if (!ctx.activity.wants.auth_failure) return;
  const actor = principal === undefined ? undefined : `user:${principal.userId}`;
  ctx.activity.emit({ kind: 'auth_failure', appId: app.id, surface: 'http', reason: refusalReason(reason), channel: capped(channel), ip: request.remoteAddress, actor });
}

/**
 * The app of a /broadcasty/* request: `?app=<key>` (§14.5); apps in hmac mode have no such
 * endpoints (404). Unknown keys and hmac apps answer alike, so a key's mode is not disclosed.
 */
async function broadcastyApp(ctx: ServerContext, request: HttpRequest): Promise<App> {
  const key = parseQuery(request.query).get('app');
  if (key === undefined || key === '') throw new HttpError(400, 'Missing ?app=<app key> in the query');
  const app = await ctx.registry.findByKey(key);
  if (app === undefined || app.authMode === 'hmac') throw new HttpError(404, `Unknown app key ${key.slice(0, 100)}, or the app does not use JWT (authMode hmac)`);
  return app;
}
