// The HTTP API: a route table, one signature check in front of every /apps/{id} endpoint,
// one small handler per endpoint (PROTOCOL.md §5).
import { verifyRequest } from '../../protocol/index.js';
import type { App } from '../apps/registry.js';
import type { ServerContext } from '../context.js';
import { readiness } from '../readiness.js';
import { EngineUnavailableError } from '../engine/types.js';
import type { Publisher } from '../publish/publisher.js';
import type { HttpReply, HttpRequest } from '../transport/types.js';
import { channelUsers, listChannels, showChannel } from './channels.js';
import { withCors } from './cors.js';
import { triggerBatch, triggerEvent } from './events.js';
import { HttpError, json, text } from './reply.js';
import { terminateConnections } from './users.js';

export interface RouteParams {
  channel?: string;
  userId?: string;
}

export interface EndpointInput {
  app: App;
  body: Buffer;
  /** Decoded query parameters, keys lower-cased. */
  params: Map<string, string>;
  route: RouteParams;
  ctx: ServerContext;
  publisher: Publisher;
}

export type Endpoint = (input: EndpointInput) => Promise<HttpReply>;

interface Route {
  method: string;
  pattern: RegExp;
  params: (match: RegExpMatchArray) => RouteParams;
  endpoint: Endpoint;
}

const segment = (value: string) => decodeURIComponent(value);

const ROUTES: Route[] = [
  { method: 'POST', pattern: /^\/apps\/([^/]+)\/events$/, params: () => ({}), endpoint: triggerEvent },
  { method: 'POST', pattern: /^\/apps\/([^/]+)\/batch_events$/, params: () => ({}), endpoint: triggerBatch },
  { method: 'GET', pattern: /^\/apps\/([^/]+)\/channels$/, params: () => ({}), endpoint: listChannels },
  { method: 'GET', pattern: /^\/apps\/([^/]+)\/channels\/([^/]+)$/, params: (m) => ({ channel: segment(m[2]) }), endpoint: showChannel },
  { method: 'GET', pattern: /^\/apps\/([^/]+)\/channels\/([^/]+)\/users$/, params: (m) => ({ channel: segment(m[2]) }), endpoint: channelUsers },
  {
    method: 'POST',
    pattern: /^\/apps\/([^/]+)\/users\/([^/]+)\/terminate_connections$/,
    params: (m) => ({ userId: segment(m[2]) }),
    endpoint: terminateConnections,
  },
];

export function createApiRouter(ctx: ServerContext, publisher: Publisher): (request: HttpRequest) => Promise<HttpReply> {
  const route = withCors(ctx.registry, routeRequest(ctx, publisher));
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

function routeRequest(ctx: ServerContext, publisher: Publisher): (request: HttpRequest) => Promise<HttpReply> {
  return async (request) => {
    if (request.method === 'GET' && (request.path === '/up' || request.path === '/')) return json({ health: 'OK' });
    if (request.method === 'GET' && request.path === '/ready') {
      const ready = readiness(ctx);
      return json(ready.body, ready.status);
    }
    let match: RegExpMatchArray | null = null;
    const route = ROUTES.find((r) => (match = request.path.match(r.pattern)) !== null && r.method === request.method);
    if (route === undefined || match === null) {
      const known = ROUTES.some((r) => r.pattern.test(request.path));
      return known ? text(405, `Method ${request.method} not allowed on ${request.path}`) : text(404, `Not found: ${request.method} ${request.path}`);
    }
    try {
      const matched: RegExpMatchArray = match;
      const app = await ctx.registry.findById(segment(matched[1]));
      if (app === undefined) return text(404, `Unknown app id ${matched[1]}`);
      const verified = verifyRequest({
        method: request.method,
        path: request.path,
        rawQuery: request.query,
        body: request.body,
        secretForKey: (key) => (key === app.key ? app.secret : undefined),
        nowSeconds: Date.now() / 1000,
      });
      if (!verified.ok) return text(verified.status, verified.message);
      if (!app.enabled) return text(403, 'Application disabled');
      ctx.metrics.forApp(app.id).httpRequests.inc();
      // Cluster-wide with the Redis engine: every node counts the same epoch-second window.
      if (app.httpRateLimit !== null && (await ctx.engine.countRequest(app.id, Date.now())) > app.httpRateLimit) {
        return { ...text(429, `Too many requests: at most ${app.httpRateLimit} per second for this app`), headers: { 'Retry-After': '1' } };
      }
      return await route.endpoint({ app, body: request.body, params: verified.params, route: route.params(matched), ctx, publisher });
    } catch (error) {
      if (error instanceof HttpError) return text(error.status, error.message);
      if (error instanceof URIError) return text(400, 'Malformed percent-encoding in the request path');
      if (error instanceof EngineUnavailableError) return { ...text(503, error.message), headers: { 'Retry-After': String(error.retryAfterSeconds) } };
      throw error;
    }
  };
}
