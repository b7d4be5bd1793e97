import type { App } from '../apps/registry.js';
import type { HttpRequest } from '../transport/types.js';

/** On success the request's decoded query parameters (keys lower-cased), read while checking it. */
export type Authentication = { ok: true; params: Map<string, string> } | { ok: false; status: number; message: string };

/** Checks that a request speaks for `app`; the status and message are the reply on failure. */
export type Authenticator = (app: App, request: HttpRequest) => Authentication;
