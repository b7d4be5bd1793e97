// What every HTTP API handler receives and returns. Its own module: the route table imports the
// handlers, the handlers import only this.
import type { App } from '../apps/registry.js';
import type { Principal } from '../auth/types.js';
import type { ServerContext } from '../context.js';
import type { HttpReply } from '../transport/types.js';

export interface RouteParams {
  channel?: string;
  userId?: string;
  /** A push device (docs/PROTOCOL.md §16.2). */
  deviceId?: string;
}

export interface EndpointInput {
  /** The app the route names (path id, or ?app= key on /broadcasty/*), authenticated by the route's scheme, enabled and within its rate limits. */
  app: App;
  body: Buffer;
  /** As the transport gives them: names lower-cased, no prototype. */
  headers: Readonly<Record<string, string>>;
  /** Decoded query parameters, keys lower-cased. */
  params: Map<string, string>;
  route: RouteParams;
  /** Who a bearer JWT speaks for; set on every /broadcasty/* route (docs/PROTOCOL.md §14.5). */
  principal?: Principal;
  ctx: ServerContext;
}

export type Endpoint = (input: EndpointInput) => Promise<HttpReply>;
