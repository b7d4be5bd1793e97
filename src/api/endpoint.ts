// What every HTTP API handler receives and returns. Its own module: the route table imports the
// handlers, the handlers import only this.
import type { App } from '../apps/registry.js';
import type { ServerContext } from '../context.js';
import type { HttpReply } from '../transport/types.js';

export interface RouteParams {
  channel?: string;
  userId?: string;
}

export interface EndpointInput {
  /** The app named in the path, already authenticated by the route's scheme, enabled and within its rate limit. */
  app: App;
  body: Buffer;
  /** As the transport gives them: names lower-cased, no prototype. */
  headers: Readonly<Record<string, string>>;
  /** Decoded query parameters, keys lower-cased. */
  params: Map<string, string>;
  route: RouteParams;
  ctx: ServerContext;
}

export type Endpoint = (input: EndpointInput) => Promise<HttpReply>;
