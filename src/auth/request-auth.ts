// How an HTTP request proves it speaks for an app. Each API route names its scheme (`auth` in
// api/routes.ts) and the router asks this module, the one place where requests are checked:
// JWT (next issue) is one more entry in AUTHENTICATORS and a route property.
import type { App } from '../apps/registry.js';
import type { HttpRequest } from '../transport/types.js';
import { verifyPusherSignature } from './pusher-hmac.js';
import type { Authentication, Authenticator } from './types.js';

const AUTHENTICATORS = {
  'pusher-hmac': verifyPusherSignature,
} satisfies Record<string, Authenticator>;

export type RouteAuth = keyof typeof AUTHENTICATORS;

export function authenticate(scheme: RouteAuth, app: App, request: HttpRequest): Authentication {
  return AUTHENTICATORS[scheme](app, request);
}
