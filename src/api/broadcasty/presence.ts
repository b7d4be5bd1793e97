// Presence with a lease for clients without a socket (docs/PROTOCOL.md §14.5): join, heartbeat,
// leave and the roster. The member is the principal (`sub`, the userInfoClaim claim), in the same
// roster as socket members; channels/presence-leases.ts does the engine work, the member frames
// and the webhooks.
import type { PresenceRoster } from '../../../protocol/index.js';
import type { App } from '../../apps/registry.js';
import type { Principal } from '../../auth/types.js';
import { joinLeased, leaveLeased, renewLeased } from '../../channels/presence-leases.js';
import type { PresenceMember } from '../../engine/types.js';
import type { Endpoint } from '../endpoint.js';
import { parseJsonObject } from '../event-input.js';
import { HttpError, json } from '../reply.js';
import { presenceChannel } from './input.js';

export const presenceJoin: Endpoint = async ({ app, body, principal, ctx }) => {
  const channel = await presenceChannel(app, principal!, parseJsonObject(body).channel, 'in the body');
  const joined = await joinLeased(ctx, app, channel, memberOf(app, principal!));
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

/** §14.2: user_id = sub, user_info = the userInfoClaim claim (null when absent). */
function memberOf(app: App, principal: Principal): PresenceMember {
  return { userId: principal.userId, rawUserId: principal.userId, info: principal.claims[app.jwt.userInfoClaim] ?? null };
}

function rosterOf(members: Map<string, { info: unknown }>): PresenceRoster {
  // Null prototype: a member id "__proto__" must become a key, not replace the prototype.
  const hash: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [id, member] of members) hash[id] = member.info ?? null;
  return { count: members.size, ids: [...members.keys()], hash };
}
