// Who an admin API or console request speaks for (docs/PROTOCOL.md §17.1): the server-wide
// adminToken, one of the app-scoped adminTokens, or — with no token configured and outside
// production — a request from loopback. Tokens are compared as SHA-256 digests with
// timingSafeEqual, so neither a token's content nor its length shows in the timing.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ServerConfig } from '../config/schema.js';
import type { HttpRequest } from '../transport/types.js';

/** Who asked, and which apps it may see. */
export interface AdminActor {
  /** `admin`, `admin:{i}` (index into adminTokens) or `loopback`. */
  name: string;
  apps: ReadonlySet<string> | '*';
}

export type AccessAnswer = { ok: true; actor: AdminActor } | { ok: false; status: 401 | 403; message: string };

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

export const NO_TOKEN_REMOTE = 'the admin API needs adminToken (BROADCASTY_ADMIN_TOKEN) for requests that are not from loopback';
export const NO_TOKEN_PRODUCTION = 'the admin API is off in production without adminToken (BROADCASTY_ADMIN_TOKEN)';
const BAD_TOKEN = 'Missing or invalid admin token (Authorization: Bearer <token>)';

const digest = (value: string) => createHash('sha256').update(value).digest();

interface Credential {
  digest: Buffer;
  actor: AdminActor;
}

export class AdminAccess {
  private readonly credentials: Credential[];

  constructor(config: Pick<ServerConfig, 'adminToken' | 'adminTokens' | 'environment'>) {
    this.credentials = config.adminTokens.map((entry, i) => ({ digest: digest(entry.token), actor: { name: `admin:${i}`, apps: new Set(entry.apps) } }));
    if (config.adminToken !== undefined) this.credentials.unshift({ digest: digest(config.adminToken), actor: { name: 'admin', apps: '*' } });
    this.production = config.environment === 'production';
  }

  private readonly production: boolean;

  /** No token is configured: the API and console answer loopback only (or nothing in production). */
  get tokenless(): boolean {
    return this.credentials.length === 0;
  }

  /** Production without a token: everything is refused with 403. */
  get shut(): boolean {
    return this.tokenless && this.production;
  }

  /** Whether a request may load the console's static files (they hold no data, so no token is asked). */
  consoleRefusal(request: HttpRequest): { status: 401 | 403; message: string } | undefined {
    if (this.shut) return { status: 403, message: NO_TOKEN_PRODUCTION };
    if (this.tokenless && !LOOPBACK.has(request.remoteAddress)) return { status: 401, message: NO_TOKEN_REMOTE };
    return undefined;
  }

  check(request: HttpRequest): AccessAnswer {
    if (this.shut) return { ok: false, status: 403, message: NO_TOKEN_PRODUCTION };
    if (this.tokenless) {
      return LOOPBACK.has(request.remoteAddress) ? { ok: true, actor: { name: 'loopback', apps: '*' } } : { ok: false, status: 401, message: NO_TOKEN_REMOTE };
    }
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match === null) return { ok: false, status: 401, message: BAD_TOKEN };
    const sent = digest(match[1]);
    // Every credential is compared, so the position of the matching one does not show either.
    let found: AdminActor | undefined;
    for (const credential of this.credentials) if (timingSafeEqual(sent, credential.digest) && found === undefined) found = credential.actor;
    return found === undefined ? { ok: false, status: 401, message: BAD_TOKEN } : { ok: true, actor: found };
  }
}

export const mayAccess = (actor: AdminActor, appId: string): boolean => actor.apps === '*' || actor.apps.has(appId);
