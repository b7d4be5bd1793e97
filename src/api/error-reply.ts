// How the HTTP fronts (api/router.ts, admin/front.ts) route a request and answer what it throws;
// the publish span (publish-span.ts) records the same status the client gets.
import type { Logger } from '../logger.js';
import { EngineUnavailableError } from '../engine/types.js';
import type { HttpReply, HttpRequest } from '../transport/types.js';
import { HttpError } from './reply.js';

/** A front's error body: plain text, `{"error"}` or Beams' JSON, by API. */
export type Fail = (status: number, message: string) => HttpReply;

const withRetryAfter = (reply: HttpReply, seconds: number | undefined): HttpReply => (seconds === undefined ? reply : { ...reply, headers: { 'Retry-After': String(seconds) } });

/**
 * The answer to a thrown client error (4xx) or engine outage (503, with when to retry);
 * undefined for anything else, which is the server's fault (serverFault).
 */
export function errorReply(error: unknown, fail: Fail): HttpReply | undefined {
  if (error instanceof HttpError) return withRetryAfter(fail(error.status, error.message), error.status === 429 ? 1 : undefined);
  if (error instanceof URIError) return fail(400, 'Malformed percent-encoding in the request path');
  if (error instanceof EngineUnavailableError) return withRetryAfter(fail(503, error.message), error.retryAfterSeconds);
  return undefined;
}

/** A 500, logged with the request line only: the query holds the signature, the body the app's data. */
export function serverFault(log: Logger, api: string, request: HttpRequest, error: unknown, fail: Fail): HttpReply {
  log.error({ err: error, request: `${request.method} ${request.path.slice(0, 200)}` }, `${api} request failed with 500`);
  return fail(500, 'Internal server error');
}

/** The route for the method and path, or the 405 (the path is known for another method) or 404 to answer. */
export function matchRoute<R extends { method: string; pattern: RegExp }>(routes: readonly R[], method: string, path: string, fail: Fail): { route: R; match: RegExpExecArray } | HttpReply {
  for (const route of routes) {
    if (route.method !== method) continue;
    const match = route.pattern.exec(path);
    if (match !== null) return { route, match };
  }
  return routes.some((r) => r.pattern.test(path)) ? fail(405, `Method ${method} not allowed on ${path}`) : fail(404, `Not found: ${method} ${path}`);
}
