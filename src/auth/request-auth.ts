// How an HTTP request proves it speaks for an app. Each API route names its scheme (`auth` in
// api/routes.ts) and the router asks this module, the one place where requests are checked:
// Pusher HMAC signatures (§5.2), JWT bearer tokens (docs/PROTOCOL.md §14.5) and the Beams
// secret key (§16.4).
import type { App } from '../apps/registry.js';
import type { TokenGuards } from '../engine/types.js';
import type { HttpRequest } from '../transport/types.js';
import { verifyBeamsSecret } from './beams-secret.js';
import { verifyBearerJwt } from './bearer-jwt.js';
import { verifyPusherSignature } from './pusher-hmac.js';
import type { Authentication, Authenticator } from './types.js';

const AUTHENTICATORS = {
  'pusher-hmac': verifyPusherSignature,
  'bearer-jwt': verifyBearerJwt,
  'beams-secret': verifyBeamsSecret,
} satisfies Record<string, Authenticator>;

export type RouteAuth = keyof typeof AUTHENTICATORS;

/** HMAC answers at once (no promise on the SDKs' path); a bearer token may need the engine (revocation). */
export function authenticate(scheme: RouteAuth, app: App, request: HttpRequest, guards: TokenGuards): Authentication | Promise<Authentication> {
  return AUTHENTICATORS[scheme](app, request, guards);
}
