// The admin API's handlers (docs/PROTOCOL.md §17.1). Each gets the app the route named, already
// checked against the actor's scope (admin/front.ts), and reuses the Pusher API's pieces: the
// engine's channel queries, the history page, the publish pipeline.
import { channelType } from '../../protocol/index.js';
import type { App } from '../apps/registry.js';
import { eventName, parseJsonObject, parseTrigger } from '../api/event-input.js';
import { historyChannel, pageQuery } from '../api/history.js';
import { HttpError, json } from '../api/reply.js';
import type { ServerContext } from '../context.js';
import { readPage } from '../history/read.js';
import { historyFor } from '../history/rules.js';
import type { HttpAnswer, HttpRequest } from '../transport/types.js';
import { mayAccess, type AdminActor } from './access.js';
import { noConnections } from './node-stats.js';
import type { AdminNode } from './node.js';

export interface AdminInput {
  app: App;
  actor: AdminActor;
  request: HttpRequest;
  params: Map<string, string>;
  route: { channel?: string; userId?: string };
  ctx: ServerContext;
  admin: AdminNode;
}

export type AdminEndpoint = (input: AdminInput) => Promise<HttpAnswer>;

export const whoami = async ({ actor }: Pick<AdminInput, 'actor'>): Promise<HttpAnswer> => json({ actor: actor.name, apps: actor.apps === '*' ? '*' : [...actor.apps] });

/**
 * The apps the actor may see: its listed ids; for a token that sees every app, the configured apps
 * and, since a json or SQL registry cannot be listed, every app this node has served since it started.
 */
export const listApps = async ({ actor, ctx }: Pick<AdminInput, 'actor' | 'ctx'>): Promise<HttpAnswer> => {
  const ids = actor.apps === '*' ? new Set([...ctx.config.apps.map((a) => a.id), ...ctx.metrics.apps().map(([id]) => id)]) : actor.apps;
  const apps = [];
  for (const id of ids) {
    const app = await ctx.registry.findById(id);
    if (app === undefined || !mayAccess(actor, app.id)) continue;
    apps.push({ id: app.id, key: app.key, enabled: app.enabled, authMode: app.authMode, history: app.history.length > 0, push: app.push !== undefined });
  }
  return json({ apps });
};

export const appStats: AdminEndpoint = async ({ app, ctx, admin }) => {
  const nodes = await admin.nodeShares(app.id);
  const byTransport = noConnections();
  for (const node of nodes) for (const [name, count] of Object.entries(node.byTransport)) byTransport[name as keyof typeof byTransport] += count;
  return json({
    app: app.id,
    at: Date.now(),
    connections: { total: nodes.reduce((sum, n) => sum + n.connections, 0), byTransport },
    nodes: nodes.map((n) => ({ node: n.node, connections: n.connections, byTransport: n.byTransport, messagesPublished: n.published, at: n.at })),
    channels: (await ctx.engine.channels(app.id)).size,
    messages: { published: nodes.reduce((sum, n) => sum + n.published, 0), perSecond: nodes.reduce((sum, n) => sum + n.perSecond, 0) },
    webhookQueueDepth: await ctx.webhooks.queueDepth(),
    pushQueueDepth: await ctx.push.queueDepth(app.id),
  });
};

export const listChannels: AdminEndpoint = async ({ app, params, ctx }) => {
  const occupied = await ctx.engine.channels(app.id, params.get('prefix') ?? '');
  const names = [...occupied.keys()].sort();
  const channels = [];
  for (const name of names) {
    const type = channelType(name);
    const entry: Record<string, unknown> = { name, subscribers: occupied.get(name), kind: type.kind, cache: type.cache, history: historyFor(app, name) !== undefined };
    if (type.kind === 'presence') entry.members = (await ctx.engine.members(app.id, name)).size;
    channels.push(entry);
  }
  return json({ channels });
};

export const showChannel: AdminEndpoint = async ({ app, route, ctx }) => {
  const name = route.channel!;
  const type = channelType(name);
  const subscribers = await ctx.engine.subscriptionCount(app.id, name);
  const members = type.kind === 'presence' ? [...(await ctx.engine.members(app.id, name)).values()].map((m) => ({ id: m.rawUserId, info: m.info ?? null })) : null;
  const spec = historyFor(app, name);
  let history = null;
  if (spec !== undefined) {
    const streams = [];
    for (let partition = 0; partition < spec.partitions; partition++) {
      // A zero-length read answers the stream's position and oldest stored offset without events.
      const page = await readPage(ctx.engine, app.id, name, spec, { from: Number.MAX_SAFE_INTEGER, limit: 1, partition });
      streams.push({ partition, offset: page.offset, epoch: page.epoch, first: page.first });
    }
    history = { partitions: spec.partitions, streams };
  }
  return json({ name, kind: type.kind, cache: type.cache, occupied: subscribers > 0, subscribers, members, history });
};

export const channelHistory: AdminEndpoint = async ({ app, params, route, ctx }) => {
  const spec = historyChannel(app, route.channel!);
  return json(await readPage(ctx.engine, app.id, route.channel!, spec, pageQuery(params, spec)));
};

/** Through the HTTP API's validation and the publish pipeline, as POST /events (§5.3). */
export const publishEvent: AdminEndpoint = async ({ app, actor, request, ctx, admin }) => {
  const body = parseJsonObject(request.body);
  if (typeof body.channel !== 'string') throw new HttpError(400, 'Missing "channel" (string)');
  // Checked here first so that the message names this body's field, `event` (§5.3 calls it `name`).
  const name = eventName(body.event, 'event');
  const trigger = parseTrigger(app, { name, channel: body.channel, data: body.data });
  const positions = await ctx.pipeline.publishEvent(app, { ...trigger, actor: actor.name, source: 'admin' });
  admin.record(app.id, actor, 'publish', body.channel, request);
  return json(Object.keys(positions).length > 0 ? { positions } : {});
};

export const terminateUser: AdminEndpoint = async ({ app, actor, request, route, ctx, admin }) => {
  await ctx.engine.terminateUser(app.id, route.userId!);
  admin.record(app.id, actor, 'terminate', route.userId!, request);
  return json({});
};
