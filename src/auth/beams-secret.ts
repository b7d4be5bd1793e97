// `Authorization: Bearer <push.beams.secretKey>` for the Pusher Beams publish API (docs/PROTOCOL.md
// §16.4), as @pusher/push-notifications-server and the PHP SDK send it. Apps without push.beams
// have no such API: 404, as an unknown instance.
import { createHash, timingSafeEqual } from 'node:crypto';
import { parseQuery } from '../../protocol/index.js';
import type { App } from '../apps/registry.js';
import type { HttpRequest } from '../transport/types.js';
import type { Authentication } from './types.js';

const BEARER = /^Bearer +(\S+) *$/i;

/** Digests of equal length: the comparison takes as long whatever the secret's length or the guess. */
const digest = (value: string) => createHash('sha256').update(value).digest();

export function verifyBeamsSecret(app: App, request: HttpRequest): Authentication {
  const secretKey = app.push?.beams?.secretKey;
  if (secretKey === undefined) return { ok: false, status: 404, message: `Instance ${app.id} has no Beams publish API (push.beams is not set)` };
  const header = request.headers.authorization;
  if (header === undefined || header === '') return { ok: false, status: 401, message: 'Missing Authorization header: send "Authorization: Bearer <secret key>"' };
  const given = BEARER.exec(header)?.[1];
  if (given === undefined || !timingSafeEqual(digest(given), digest(secretKey))) return { ok: false, status: 401, message: 'Incorrect secret key' };
  return { ok: true, params: parseQuery(request.query) };
}
