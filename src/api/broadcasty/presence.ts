// Presence with a lease for clients without a socket (docs/PROTOCOL.md §14.5): join, heartbeat,
// leave and the roster. The member is the principal (`sub`, the userInfoClaim claim), in the same
// roster as socket members; channels/presence-leases.ts does the engine work, the member frames
// and the webhooks.
import { memberOf } from '../../channels/authorize.js';
import { joinLeased, leaveLeased, renewLeased } from '../../channels/presence-leases.js';
import { rosterOf } from '../../channels/subscriptions.js';
import type { Endpoint } from '../endpoint.js';
import { parseJsonObject } from '../event-input.js';
import { HttpError, json } from '../reply.js';
import { presenceChannel } from './input.js';

export const presenceJoin: Endpoint = async ({ app, body, principal, ctx }) => {
  const channel = await presenceChannel(app, principal!, parseJsonObject(body).channel, 'in the body');
  const derived = memberOf(app, principal!);
  if ('problem' in derived) throw new HttpError(400, `Invalid token for presence: ${derived.problem}`);
  const joined = await joinLeased(ctx, app, channel, derived.member);
  if (joined.status === 'full') throw new HttpError(403, `The maximum members per presence channel limit (${app.maxPresenceMembers}) was reached`);
  return json({ channel, user_id: principal!.userId, ttl_seconds: app.jwt.presenceTtlSeconds, presence: rosterOf(joined.roster) });
};

export const presenceHeartbeat: Endpoint = async ({ app, body, principal, ctx }) => {
  const channel = await presenceChannel(app, principal!, parseJsonObject(body).channel, 'in the body');
  if (!(await renewLeased(ctx, app, channel, principal!.userId))) throw new HttpError(404, `No presence lease on ${channel}: it expired or was never taken; join again`);
  return json({ channel, user_id: principal!.userId, ttl_seconds: app.jwt.presenceTtlSeconds });
};

export const presenceLeave: Endpoint = async ({ app, body, principal, ctx }) => {
  const channel = await presenceChannel(app, principal!, parseJsonObject(body).channel, 'in the body');
  return json({ left: await leaveLeased(ctx, app, channel, principal!.userId) });
};

export const presenceRoster: Endpoint = async ({ app, params, principal, ctx }) => {
  const channel = await presenceChannel(app, principal!, params.get('channel'), 'in the query');
  return json(rosterOf(await ctx.engine.members(app.id, channel)));
};
