// Idempotent publish (docs/PROTOCOL.md §13.5): a request with a key publishes once per window;
// a repeat gets the first answer and delivers nothing. The key covers the whole request, so
// a batch is one unit.
import type { App } from '../apps/registry.js';
import type { ServerContext } from '../context.js';
import type { HttpReply } from '../transport/types.js';
import { HttpError } from './reply.js';

const HEADER = 'idempotency-key';
const MAX_KEY = 200;

/**
 * The request's key: the `Idempotency-Key` header or the body's `idempotency_key` (`idempotencyKey`
 * on /broadcasty/publish, §14.5), equal when both are given.
 */
export function idempotencyKey(headers: Readonly<Record<string, string>>, body: Record<string, unknown>, bodyField = 'idempotency_key'): string | undefined {
  const header = headers[HEADER];
  const field = body[bodyField];
  if (header !== undefined && (header.length === 0 || header.length > MAX_KEY)) {
    throw new HttpError(400, `Invalid Idempotency-Key header: expected 1 to ${MAX_KEY} characters, got ${header.length}`);
  }
  if (field !== undefined && (typeof field !== 'string' || field.length === 0 || field.length > MAX_KEY)) {
    const got = typeof field === 'string' ? `${field.length} characters` : field === null ? 'null' : typeof field;
    throw new HttpError(400, `Invalid "${bodyField}": expected a string of 1 to ${MAX_KEY} characters, got ${got}`);
  }
  if (header !== undefined && field !== undefined && header !== field) {
    throw new HttpError(400, `The Idempotency-Key header and "${bodyField}" differ: send one, or the same key in both`);
  }
  return header ?? field;
}

/**
 * Runs `publish` once per key and window. Only a publish that answered is remembered: one that
 * threw (4xx, 503, a failing engine) releases the key, so its retry publishes.
 */
export async function idempotent(ctx: ServerContext, app: App, key: string | undefined, publish: () => Promise<HttpReply>): Promise<HttpReply> {
  if (key === undefined) return publish();
  const windowMs = ctx.config.idempotencyWindowSeconds * 1000;
  const claim = await ctx.engine.claimIdempotencyKey(app.id, key, windowMs);
  if (claim.status === 'done') return { status: 200, body: claim.answer };
  if (claim.status === 'pending') throw new HttpError(409, `A request with this idempotency key is still publishing; retry it once that one answered`);
  let reply: HttpReply;
  try {
    reply = await publish();
  } catch (error) {
    await ctx.engine.releaseIdempotencyKey(app.id, key).catch((releaseError: unknown) => {
      ctx.log.warn({ err: releaseError, appId: app.id }, 'idempotency key not released after a failed publish: its retries get 409 until the window ends');
    });
    throw error;
  }
  // The events are out: the publisher hears so even when the answer cannot be remembered.
  await ctx.engine.completeIdempotencyKey(app.id, key, reply.body, windowMs).catch((error: unknown) => {
    ctx.log.error({ err: error, appId: app.id }, 'idempotency key answer not stored: a retry within the window gets 409');
  });
  return reply;
}
