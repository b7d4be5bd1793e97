// Tenants (docs/PROTOCOL.md §14.3): a tenant channel names its tenant right after the kind
// prefix, `tenant.{tid}.`; a principal never touches another tenant's channels, whatever the rules.
import { channelType, SERVER_TO_USER_PREFIX, withoutKindPrefix } from '../../protocol/channels.js';
import type { App } from '../apps/registry.js';
import type { PolicyAction } from '../config/schema.js';
import { compilePattern, type ChannelPattern } from './channel-patterns.js';
import type { Decision, Principal } from './types.js';

const SEGMENT = 'tenant.';

/**
 * The tenant a channel belongs to, or undefined for a channel of no tenant. The word `tenant.` is
 * matched in any case, so `private-Tenant.b.x` is tenant b's and cannot pass as a shared channel.
 * `#server-to-user-{tid}.{sub}` belongs to the user's tenant.
 */
export function tenantOf(channel: string): string | undefined {
  // A tenant's users are `{tid}.{sub}` (signedInUserId): their own channel is the tenant's too.
  if (channel.startsWith(SERVER_TO_USER_PREFIX)) {
    const user = channel.slice(SERVER_TO_USER_PREFIX.length);
    const dot = user.indexOf('.');
    return dot === -1 ? undefined : user.slice(0, dot);
  }
  if (channel.startsWith('#')) return undefined;
  const rest = withoutKindPrefix(channel);
  if (rest.length < SEGMENT.length || rest.slice(0, SEGMENT.length).toLowerCase() !== SEGMENT) return undefined;
  const end = rest.indexOf('.', SEGMENT.length);
  return end === -1 ? rest.slice(SEGMENT.length) : rest.slice(SEGMENT.length, end);
}

const OTHER_TENANT = 'channel belongs to another tenant';

/** Apps are replaced, never mutated, when their settings change: the cache follows the object. */
const compiledShared = new WeakMap<App, readonly ChannelPattern[]>();

function sharedChannels(app: App): readonly ChannelPattern[] {
  let patterns = compiledShared.get(app);
  if (patterns === undefined) compiledShared.set(app, (patterns = app.jwt.sharedChannels.map((pattern) => compilePattern(pattern))));
  return patterns;
}

/**
 * §14.3 rules 1 and 2 for a principal: a denial, or undefined when the RBAC policy decides.
 * An empty tenant (a token without `tid`) owns no channel.
 */
export function tenancyDenial(app: App, principal: Principal, channel: string, action: PolicyAction): Decision | undefined {
  const tenant = tenantOf(channel);
  if (tenant !== undefined) {
    return tenant !== '' && tenant === principal.tenant ? undefined : { ok: false, message: OTHER_TENANT };
  }
  if (channelType(channel).kind === 'public' && (action === 'subscribe' || action === 'history')) return undefined;
  if (sharedChannels(app).some((pattern) => pattern.test(channel))) return undefined;
  return { ok: false, message: `channel ${channel} has no tenant segment (tenant.{tid}.) and is not a shared channel` };
}

/**
 * §14.3 for a subscriber without a principal: in `jwt` mode no tenant channel, in `both` no
 * public tenant channel (private ones carry the app's own signature). The denial's reason, if any.
 */
export function tenancyDenialWithoutPrincipal(app: App, channel: string): string | undefined {
  if (app.authMode === 'hmac' || tenantOf(channel) === undefined) return undefined;
  if (app.authMode === 'jwt' || channelType(channel).kind === 'public') return `tenant channel ${channel} needs a token of its tenant`;
  return undefined;
}

/**
 * The Pusher user id a principal signs in as (§14.2): `{tid}.{sub}`, so users of two tenants
 * with one `sub` never share a `#server-to-user-` channel, sendToUser or terminate_connections.
 * A principal of no tenant signs in as its `sub`.
 */
export function signedInUserId(principal: Principal): string {
  return principal.tenant === '' ? principal.userId : `${principal.tenant}.${principal.userId}`;
}
