// GET /broadcasty/sse (docs/PROTOCOL.md §15). PLACEHOLDER until the issue-15 helper lands it.
import type { HttpAnswer } from '../transport/types.js';
import type { SessionRequest } from './front.js';

export function sseEndpoint(input: SessionRequest): HttpAnswer | Promise<HttpAnswer> {
  throw new Error(`not yet: ${input.request.path}`);
}
