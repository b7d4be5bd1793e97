// The step every /broadcasty/* request passes after its token (docs/PROTOCOL.md §14.6): the
// timestamp and nonce of a POST, and the per-IP and per-user rate windows, cluster-wide through
// the engine's TokenGuards.
import type { App } from '../../apps/registry.js';
import type { Principal } from '../../auth/types.js';
import type { ServerContext } from '../../context.js';
import type { HttpRequest } from '../../transport/types.js';
import { HttpError } from '../reply.js';

const NONCE = /^[A-Za-z0-9_-]{8,128}$/;
const TIMESTAMP = /^\d{1,12}$/;

export async function guardRequest(ctx: ServerContext, app: App, principal: Principal, request: HttpRequest): Promise<void> {
  const now = Date.now();
  const { clockSkewSeconds, requireNonce, rateLimits } = app.jwt;
  const nonce = request.method === 'POST' && requireNonce ? freshNonce(request.headers, clockSkewSeconds, now) : undefined;
  // Counted before the nonce is claimed: a 429'd request may be retried with the same nonce.
  await Promise.all([
    withinRate(ctx, app, `ip:${request.remoteAddress}`, rateLimits.perIp, now, 'this address'),
    withinRate(ctx, app, userBucket(principal), rateLimits.perUser, now, 'this user'),
  ]);
  // A nonce is remembered for twice the skew: any request old enough to have been forgotten fails the timestamp check.
  const ttlMs = Math.max(2 * clockSkewSeconds, 1) * 1000;
  if (nonce !== undefined && !(await ctx.engine.claimNonce(app.id, userOf(principal), nonce, ttlMs))) throw new HttpError(401, 'replay detected');
}

/** `sub` is unique within a tenant only (a tid holds no `:`). */
const userOf = (principal: Principal) => `${principal.tenant}:${principal.userId}`;

/** The perUser window's bucket, the one client events of the same principal count in (publish/client-events.ts). */
export const userBucket = (principal: Principal) => `user:${userOf(principal)}`;

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
