// `Authorization: Bearer <jwt>` for the /broadcasty/* endpoints (docs/PROTOCOL.md §14.5): the
// token is verified by auth/jwt.ts against the app's `jwt` settings; any failure is a 401 whose
// message names the failed check. The token itself is never logged or echoed.
import { parseQuery } from '../../protocol/index.js';
import type { App } from '../apps/registry.js';
import type { TokenGuards } from '../engine/types.js';
import type { HttpRequest } from '../transport/types.js';
import { verifyJwt } from './jwt.js';
import type { Authentication } from './types.js';

const BEARER = /^Bearer +(\S+) *$/i;

export async function verifyBearerJwt(app: App, request: HttpRequest, guards: TokenGuards): Promise<Authentication> {
  const header = request.headers.authorization;
  if (header === undefined || header === '') return { ok: false, status: 401, message: 'Missing Authorization header: send "Authorization: Bearer <jwt>"' };
  const token = BEARER.exec(header)?.[1];
  if (token === undefined) return { ok: false, status: 401, message: 'Invalid Authorization header: expected "Bearer <jwt>"' };
  const check = await verifyJwt(guards, app, token);
  if (!check.ok) return { ok: false, status: 401, message: check.message };
  return { ok: true, params: parseQuery(request.query), principal: check.principal };
}
