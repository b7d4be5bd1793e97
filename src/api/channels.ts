// GET /channels, /channels/{ch}, /channels/{ch}/users (docs/PROTOCOL.md §5.5, §5.6).
import { channelType } from '../../protocol/index.js';
import type { Endpoint } from './endpoint.js';
import { byChannel, HttpError, json } from './reply.js';

const infoList = (params: Map<string, string>) => (params.get('info') ?? '').split(',').map((s) => s.trim()).filter(Boolean);

export const listChannels: Endpoint = async ({ app, params, ctx }) => {
  const prefix = params.get('filter_by_prefix') ?? '';
  const info = infoList(params);
  if (info.includes('user_count') && !prefix.startsWith('presence-')) {
    throw new HttpError(400, 'info=user_count requires filter_by_prefix to start with presence-');
  }
  const occupied = await ctx.engine.channels(app.id, prefix);
  const channels = byChannel<Record<string, number>>();
  for (const [channel, count] of occupied) {
    const attributes: Record<string, number> = {};
    if (info.includes('user_count')) attributes.user_count = (await ctx.engine.members(app.id, channel)).size;
    if (info.includes('subscription_count')) attributes.subscription_count = count;
    channels[channel] = attributes;
  }
  return json({ channels });
};

export const showChannel: Endpoint = async ({ app, params, route, ctx }) => {
  const channel = route.channel!;
  const info = infoList(params);
  const type = channelType(channel);
  if (info.includes('user_count') && type.kind !== 'presence') throw new HttpError(400, 'info=user_count is only available on presence channels');
  const count = await ctx.engine.subscriptionCount(app.id, channel);
  const body: Record<string, unknown> = { occupied: count > 0 };
  if (info.includes('user_count')) body.user_count = (await ctx.engine.members(app.id, channel)).size;
  if (info.includes('subscription_count')) body.subscription_count = count;
  if (info.includes('cache') && type.cache) {
    const cached = await ctx.engine.getCache(app.id, channel);
    body.cache = cached === undefined ? null : { data: cached.data, ttl: cached.ttl };
  }
  return json(body);
};

export const channelUsers: Endpoint = async ({ app, route, ctx }) => {
  const channel = route.channel!;
  if (channelType(channel).kind !== 'presence') throw new HttpError(400, 'Users are only available on presence channels');
  const members = await ctx.engine.members(app.id, channel);
  return json({ users: [...members.keys()].map((id) => ({ id })) });
};

