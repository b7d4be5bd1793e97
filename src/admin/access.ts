// Who an admin API or console request speaks for (docs/PROTOCOL.md §17.1): the server-wide
// adminToken, one of the app-scoped adminTokens, or — with no token configured and outside
// production — a request from loopback. Tokens are compared as SHA-256 digests with
// timingSafeEqual, so neither a token's content nor its length shows in the timing.
//
// Without a token the peer address is the only credential, and a browser on this machine is on
// loopback: any page it opens could send requests (CSRF) or, renaming itself to 127.0.0.1 (DNS
// rebinding), read the answers. So tokenless requests must name this machine in Host, must not
// come from another origin, and must not have passed through a proxy (whose requests all come
// from loopback).
import { createHash, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import type { ServerConfig } from '../config/schema.js';
import type { HttpRequest } from '../transport/types.js';

/** Who asked, and which apps it may see. */
export interface AdminActor {
  /** `admin`, `admin:{i}` (index into adminTokens) or `loopback`. */
  name: string;
  apps: ReadonlySet<string> | '*';
}

type Refusal = { status: 401 | 403; message: string };
export type AccessAnswer = { ok: true; actor: AdminActor } | ({ ok: false } & Refusal);

// BlockList compares parsed addresses, so every spelling counts: uWS prints IPv6 in full
// (0000:…:0001, 0000:…:ffff:7f00:0001). The IPv4-mapped entry is explicit rather than relying on
// BlockList matching mapped addresses against IPv4 rules.
const LOOPBACK = new BlockList();
LOOPBACK.addAddress('127.0.0.1', 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
LOOPBACK.addAddress('::ffff:127.0.0.1', 'ipv6');

/** The peer is this machine's 127.0.0.1 or ::1, however the transport spells the address. */
export function isLoopback(address: string): boolean {
  const family = isIP(address);
  return family !== 0 && LOOPBACK.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** Host names a tokenless request may use (any port): a rebinding page's own name is not among them. */
const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'];
/** Headers a reverse proxy adds: behind one, every request reaches us from loopback. */
const PROXY_HEADERS = ['x-forwarded-for', 'forwarded', 'x-real-ip'];

export const NO_TOKEN_REMOTE = 'the admin API needs adminToken (BROADCASTY_ADMIN_TOKEN) for requests that are not from loopback';
export const NO_TOKEN_PRODUCTION = 'the admin API is off in production without adminToken (BROADCASTY_ADMIN_TOKEN)';
export const NO_TOKEN_PROXIED =
  'the admin API refuses proxied requests (X-Forwarded-For, Forwarded, X-Real-IP) without adminToken: behind a proxy every request comes from loopback; set adminToken (BROADCASTY_ADMIN_TOKEN)';
export const NO_TOKEN_CROSS_ORIGIN = 'the admin API without adminToken refuses cross-origin requests (Origin must be this server, Sec-Fetch-Site not cross-site)';
const BAD_TOKEN = 'Missing or invalid admin token (Authorization: Bearer <token>)';

const digest = (value: string) => createHash('sha256').update(value).digest();

interface Credential {
  digest: Buffer;
  actor: AdminActor;
}

export class AdminAccess {
  private readonly credentials: Credential[];

  constructor(config: Pick<ServerConfig, 'adminToken' | 'adminTokens' | 'environment' | 'host'>) {
    this.credentials = config.adminTokens.map((entry, i) => ({ digest: digest(entry.token), actor: { name: `admin:${i}`, apps: new Set(entry.apps) } }));
    if (config.adminToken !== undefined) this.credentials.unshift({ digest: digest(config.adminToken), actor: { name: 'admin', apps: '*' } });
    this.production = config.environment === 'production';
    const configured = isIP(config.host) === 6 ? `[${config.host}]` : config.host;
    this.hosts = new Set(isLoopback(config.host) ? [...LOOPBACK_HOSTS, configured.toLowerCase()] : LOOPBACK_HOSTS);
    this.wrongHost = `the admin API without adminToken answers only Host ${[...this.hosts].join(', ')} (any port), against DNS rebinding: set adminToken (BROADCASTY_ADMIN_TOKEN) to use another name`;
  }

  private readonly production: boolean;
  private readonly hosts: ReadonlySet<string>;
  private readonly wrongHost: string;

  /** No token is configured: the API and console answer loopback only (or nothing in production). */
  get tokenless(): boolean {
    return this.credentials.length === 0;
  }

  /** Production without a token: everything is refused with 403. */
  get shut(): boolean {
    return this.tokenless && this.production;
  }

  /** Whether a request may load the console's static files (they hold no data, so no token is asked). */
  consoleRefusal(request: HttpRequest): Refusal | undefined {
    if (this.shut) return { status: 403, message: NO_TOKEN_PRODUCTION };
    // Only the place is checked, not the origin: following a link to the console is cross-site.
    return this.tokenless ? this.placeRefusal(request) : undefined;
  }

  check(request: HttpRequest): AccessAnswer {
    if (this.shut) return { ok: false, status: 403, message: NO_TOKEN_PRODUCTION };
    if (this.tokenless) {
      const refusal = this.placeRefusal(request) ?? this.originRefusal(request);
      return refusal === undefined ? { ok: true, actor: { name: 'loopback', apps: '*' } } : { ok: false, ...refusal };
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

  /** A tokenless request must come from loopback, not through a proxy, and name this machine in Host. */
  private placeRefusal(request: HttpRequest): Refusal | undefined {
    if (!isLoopback(request.remoteAddress)) return { status: 401, message: NO_TOKEN_REMOTE };
    if (PROXY_HEADERS.some((name) => request.headers[name] !== undefined)) return { status: 403, message: NO_TOKEN_PROXIED };
    const host = hostName(request.headers.host ?? '');
    return this.hosts.has(host) ? undefined : { status: 403, message: this.wrongHost };
  }

  /** A browser names the page that sent the request: only this server's own page may. */
  private originRefusal(request: HttpRequest): Refusal | undefined {
    const { origin, host } = request.headers;
    const sameOrigin = origin === undefined || (host !== undefined && [`http://${host.toLowerCase()}`, `https://${host.toLowerCase()}`].includes(origin.toLowerCase()));
    return sameOrigin && request.headers['sec-fetch-site'] !== 'cross-site' ? undefined : { status: 403, message: NO_TOKEN_CROSS_ORIGIN };
  }
}

/** `localhost:6001` → `localhost`, `[::1]:6001` → `[::1]`, lower-cased. */
function hostName(host: string): string {
  const lower = host.trim().toLowerCase();
  if (lower.startsWith('[')) return lower.slice(0, lower.indexOf(']') + 1);
  const colon = lower.indexOf(':');
  return colon === -1 ? lower : lower.slice(0, colon);
}

export const mayAccess = (actor: AdminActor, appId: string): boolean => actor.apps === '*' || actor.apps.has(appId);
