// POST /users/{id}/terminate_connections (docs/PROTOCOL.md §5.7).
import type { Endpoint } from './endpoint.js';
import { json } from './reply.js';

export const terminateConnections: Endpoint = async ({ app, route, ctx }) => {
  await ctx.engine.terminateUser(app.id, route.userId!);
  return json({});
};
