// What the /broadcasty/* handlers share: the channel they act on and the policy's word on it
// (docs/PROTOCOL.md §14.3, §14.4).
import { channelType } from '../../../protocol/index.js';
import type { App } from '../../apps/registry.js';
import { authorizeAction } from '../../auth/policy.js';
import type { Principal } from '../../auth/types.js';
import type { PolicyAction } from '../../config/schema.js';
import { checkPublishChannel } from '../event-input.js';
import { HttpError } from '../reply.js';

/** A channel named by a body field or query parameter; 400 when missing or not a usable name. */
export function channelNamed(value: unknown, where: string): string {
  if (typeof value !== 'string' || value === '') throw new HttpError(400, `Missing or invalid "channel" ${where}: a channel name is required`);
  checkPublishChannel(value);
  return value;
}

/** A presence channel (400 for any other kind) the principal may act on as `presence`. */
export async function presenceChannel(app: App, principal: Principal, value: unknown, where: string): Promise<string> {
  const channel = channelNamed(value, where);
  if (channelType(channel).kind !== 'presence') throw new HttpError(400, `Channel ${channel} is not a presence channel (presence-…)`);
  await allow(app, principal, channel, 'presence');
  return channel;
}

/** The policy's 403: an auth failure the audit log keeps, unlike other 403s (a full presence channel). */
export class AccessDenied extends HttpError {
  constructor(
    message: string,
    readonly channel: string,
  ) {
    super(403, message);
  }
}

/** 403 with the policy's reason unless the principal may do `action` on the channel. */
export async function allow(app: App, principal: Principal, channel: string, action: PolicyAction): Promise<void> {
  const decision = await authorizeAction(app, principal, channel, action);
  if (!decision.ok) throw new AccessDenied(decision.message, channel);
}
