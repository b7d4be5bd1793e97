// The step every /broadcasty/* request passes after its token (docs/PROTOCOL.md §14.6): the
// timestamp and nonce of a POST and the per-user rate window, cluster-wide through the engine's
// TokenGuards. The per-IP window comes before the token (countPerIp): forged tokens count too.
import type { App } from '../../apps/registry.js';
import { ipBucket, principalId, userBucket } from '../../auth/buckets.js';
import type { Principal } from '../../auth/types.js';
import type { ServerContext } from '../../context.js';
import type { HttpRequest } from '../../transport/types.js';
import { HttpError } from '../reply.js';

const NONCE = /^[A-Za-z0-9_-]{8,128}$/;
const TIMESTAMP = /^\d{1,12}$/;
/** How far apart node clocks may be without a nonce being forgotten before its timestamp is too old (§14.6). */
const NODE_CLOCK_SPREAD_SECONDS = 60;

export async function guardRequest(ctx: ServerContext, app: App, principal: Principal, request: HttpRequest): Promise<void> {
  const now = Date.now();
  const { clockSkewSeconds, requireNonce, rateLimits } = app.jwt;
  // DELETE changes state as a POST does (push devices, §16.2): it carries a nonce too.
  const nonce = request.method !== 'GET' && requireNonce ? freshNonce(request.headers, clockSkewSeconds, now) : undefined;
  // Counted before the nonce is claimed: a 429'd request may be retried with the same nonce.
  await withinRate(ctx, app, userBucket(principal), rateLimits.perUser, now, 'this user');
  // Twice the skew covers what this node's clock accepts; the minute more covers nodes whose
  // clocks differ by up to one: the nonce TTL counts on Redis's clock, the timestamp on the node's.
  const ttlMs = (2 * clockSkewSeconds + NODE_CLOCK_SPREAD_SECONDS) * 1000;
  if (nonce !== undefined && !(await ctx.engine.claimNonce(app.id, principalId(principal), nonce, ttlMs))) throw new HttpError(401, 'replay detected');
}

/**
 * The perIp window of a /broadcasty/* request, counted before its token is verified: every
 * signature check an address asks for counts against its limit.
 */
export const countPerIp = (ctx: ServerContext, app: App, request: HttpRequest): Promise<void> =>
  withinRate(ctx, app, ipBucket(request.remoteAddress), app.jwt.rateLimits.perIp, Date.now(), 'this address');

/** 429 (the router adds Retry-After: 1) once the bucket's current second passed `limit`; null = unlimited. */
export async function withinRate(ctx: ServerContext, app: App, bucket: string, limit: number | null, nowMs: number, what: string): Promise<void> {
  if (limit === null) return;
  if ((await ctx.engine.countHit(app.id, bucket, nowMs)) > limit) throw new HttpError(429, `Too many requests: at most ${limit} per second for ${what}`);
}

/** The nonce of a POST whose timestamp is within the skew; 401 naming the header otherwise. */
function freshNonce(headers: Readonly<Record<string, string>>, skewSeconds: number, nowMs: number): string {
  const nonce = headers['x-broadcasty-nonce'];
  const timestamp = headers['x-broadcasty-timestamp'];
  if (nonce === undefined) throw new HttpError(401, 'Missing X-Broadcasty-Nonce header (8 to 128 characters of A-Z a-z 0-9 _ -)');
  if (!NONCE.test(nonce)) throw new HttpError(401, 'Invalid X-Broadcasty-Nonce header: expected 8 to 128 characters of A-Z a-z 0-9 _ -');
  if (timestamp === undefined) throw new HttpError(401, 'Missing X-Broadcasty-Timestamp header (Unix seconds)');
  if (!TIMESTAMP.test(timestamp)) throw new HttpError(401, 'Invalid X-Broadcasty-Timestamp header: expected Unix seconds');
  if (Math.abs(Number(timestamp) * 1000 - nowMs) > skewSeconds * 1000) throw new HttpError(401, 'timestamp skew exceeded');
  return nonce;
}
