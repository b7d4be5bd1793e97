// What each HTTP subscriber kind's endpoint receives from the session routes (front.ts).
import type { ServerContext } from '../context.js';
import type { HttpAnswer, HttpRequest } from '../transport/types.js';
import type { HttpSessions } from './sessions.js';

export interface SessionRequest {
  request: HttpRequest;
  /** The route pattern's groups: for pusher-js paths [, key, server/session]. */
  match: RegExpExecArray;
  sessions: HttpSessions;
  ctx: ServerContext;
}

export type SessionEndpoint = (input: SessionRequest) => HttpAnswer | Promise<HttpAnswer>;
