import type { App } from '../apps/registry.js';
import type { TokenGuards } from '../engine/types.js';
import type { HttpRequest } from '../transport/types.js';

/**
 * On success the request's decoded query parameters (keys lower-cased), read while checking it,
 * and for a JWT the principal it speaks for (docs/PROTOCOL.md §14.2).
 */
export type Authentication = { ok: true; params: Map<string, string>; principal?: Principal } | { ok: false; status: number; message: string };

/**
 * Checks that a request speaks for `app`; the status and message are the reply on failure. A
 * scheme that consults cluster state (revoked tokens) answers a promise.
 */
export type Authenticator = (app: App, request: HttpRequest, guards: TokenGuards) => Authentication | Promise<Authentication>;

/** Who a verified JWT speaks for (docs/PROTOCOL.md §14.2). */
export interface Principal {
  /** `sub`: the user id, also a presence member's user_id. */
  userId: string;
  /** `tid`: the tenant; a principal only ever touches its own tenant's channels (§14.3). */
  tenant: string;
  roles: string[];
  /** Every claim, for the user_info claim and the resolver. */
  claims: Readonly<Record<string, unknown>>;
  /** `exp` in epoch ms; undefined when the token has none (only possible if `exp` is not required). */
  expiresAtMs: number | undefined;
  jti: string | undefined;
}

/** A token check: 401 for anything wrong with the token itself (the message says what). */
export type TokenCheck = { ok: true; principal: Principal } | { ok: false; message: string };

/** A policy answer; a denial's message is the reason sent to the client (403). */
export type Decision = { ok: true } | { ok: false; message: string };
