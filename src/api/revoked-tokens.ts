// POST /apps/{id}/revoked_tokens (docs/PROTOCOL.md §14.6), signed by the app like every §5
// request: tokens with the jti are refused until expires_at, on every node with Redis.
import type { Endpoint } from './endpoint.js';
import { parseJsonObject } from './event-input.js';
import { HttpError, json } from './reply.js';

const MAX_JTI = 256;

export const revokeToken: Endpoint = async ({ app, body, ctx }) => {
  const fields = parseJsonObject(body);
  const { jti, expires_at: expiresAt } = fields;
  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI) throw new HttpError(400, `Missing or invalid "jti": a string of 1 to ${MAX_JTI} characters is required`);
  if (typeof expiresAt !== 'number' || !Number.isSafeInteger(expiresAt) || expiresAt < 0) {
    throw new HttpError(400, 'Missing or invalid "expires_at": Unix seconds (an integer) are required');
  }
  await ctx.engine.revokeToken(app.id, jti, expiresAt * 1000);
  return json({});
};
