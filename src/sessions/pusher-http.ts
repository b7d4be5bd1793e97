// pusher-js's HTTP fallbacks (docs/PROTOCOL.md §7.2). PLACEHOLDER until the issue-15 helper lands it.
import type { HttpAnswer } from '../transport/types.js';
import type { SessionRequest } from './front.js';

/** POST {httpPath}/app/{key}/{server}/{session}/xhr_streaming | xhr */
export function pusherReceive(input: SessionRequest): HttpAnswer | Promise<HttpAnswer> {
  throw new Error(`not yet: ${input.request.path}`);
}

/** POST {httpPath}/app/{key}/{server}/{session}/xhr_send */
export function pusherSend(input: SessionRequest): HttpAnswer | Promise<HttpAnswer> {
  throw new Error(`not yet: ${input.request.path}`);
}
