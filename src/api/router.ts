// The HTTP API front door: probes, then the route table (routes.ts) — app lookup, the route's
// authentication (src/auth/), app state and rate limit, then the route's handler (docs/PROTOCOL.md §5).
import type { ServerContext } from '../context.js';
import { authenticate } from '../auth/request-auth.js';
import { EngineUnavailableError } from '../engine/types.js';
import { readiness } from '../readiness.js';
import type { HttpReply, HttpRequest } from '../transport/types.js';
import { withCors } from './cors.js';
import { HttpError, json, text } from './reply.js';
import { ROUTES, segment, type Route } from './routes.js';

export function createApiRouter(ctx: ServerContext): (request: HttpRequest) => Promise<HttpReply> {
  const route = withCors(ctx.registry, (request: HttpRequest) => answer(ctx, request));
  // Client input is answered with a 4xx by the handlers; what still throws is the server's fault
  // (a failing engine or registry): a 500, logged with the request line only (the query holds the
  // signature, the body the app's data). /ready's 503 is an answer, not a failure.
  return async (request) => {
    try {
      return await route(request);
    } catch (error) {
      ctx.log.error({ err: error, request: `${request.method} ${request.path.slice(0, 200)}` }, 'HTTP API request failed with 500');
      return text(500, 'Internal server error');
    }
  };
}

async function answer(ctx: ServerContext, request: HttpRequest): Promise<HttpReply> {
  const { method, path } = request;
  if (method === 'GET' && (path === '/up' || path === '/')) return json({ health: 'OK' });
  if (method === 'GET' && path === '/ready') {
    const ready = readiness(ctx);
    return json(ready.body, ready.status);
  }
  let route: Route | undefined;
  let match: RegExpExecArray | null = null;
  for (const candidate of ROUTES) {
    if (candidate.method === method && (match = candidate.pattern.exec(path)) !== null) {
      route = candidate;
      break;
    }
  }
  if (route === undefined || match === null) {
    const known = ROUTES.some((r) => r.pattern.test(path));
    return known ? text(405, `Method ${method} not allowed on ${path}`) : text(404, `Not found: ${method} ${path}`);
  }
  try {
    const app = await ctx.registry.findById(segment(match[1]!));
    if (app === undefined) return text(404, `Unknown app id ${match[1]}`);
    const authenticated = authenticate(route.auth, app, request);
    if (!authenticated.ok) return text(authenticated.status, authenticated.message);
    if (!app.enabled) return text(403, 'Application disabled');
    ctx.metrics.forApp(app.id).httpRequests.inc();
    // Cluster-wide with the Redis engine: every node counts the same epoch-second window.
    if (app.httpRateLimit !== null && (await ctx.engine.countHit(app.id, 'requests', Date.now())) > app.httpRateLimit) {
      return { ...text(429, `Too many requests: at most ${app.httpRateLimit} per second for this app`), headers: { 'Retry-After': '1' } };
    }
    return await route.endpoint({ app, body: request.body, headers: request.headers, params: authenticated.params, route: route.params(match), ctx });
  } catch (error) {
    if (error instanceof HttpError) return text(error.status, error.message);
    if (error instanceof URIError) return text(400, 'Malformed percent-encoding in the request path');
    if (error instanceof EngineUnavailableError) return { ...text(503, error.message), headers: { 'Retry-After': String(error.retryAfterSeconds) } };
    throw error;
  }
}
