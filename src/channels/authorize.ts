// Authorization per channel kind (docs/PROTOCOL.md §2.5, §4). Signatures are checked over the exact
// strings received; channel_data is parsed only after its signature verified. Apps in `jwt` or
// `both` mode also take JWTs, and tenancy and RBAC decide for principals (§14.1-§14.4).
import {
  channelStringToSign,
  describeIssue,
  parseClientJson,
  presenceChannelData,
  verifyToken,
  type ChannelKind,
  type SubscribeData,
} from '../../protocol/index.js';
import type { App } from '../apps/registry.js';
import { looksLikeJwt, userInfoOf, verifyJwt } from '../auth/jwt.js';
import { authorizeAction } from '../auth/policy.js';
import { tenancyDenialWithoutPrincipal } from '../auth/tenancy.js';
import type { Principal } from '../auth/types.js';
import type { Connection } from '../hub/connection.js';
import { EngineUnavailableError, type PresenceMember, type TokenGuards } from '../engine/types.js';
import { SERVER_TO_USER_PREFIX } from '../../protocol/channels.js';

/**
 * A refusal's status: 401 for a missing or bad signature or token, 403 for a tenant or policy
 * denial, 503 when the engine cannot tell whether a token was revoked.
 */
export type Authorization = { ok: true; member?: PresenceMember; principal?: Principal } | { ok: false; message: string; status: 401 | 403 | 503 };

const MAX_USER_ID_LENGTH = 128;

export function authorize(app: App, connection: Connection, kind: ChannelKind, request: SubscribeData): Authorization {
  const { channel, auth, channel_data: channelData } = request;
  switch (kind) {
    case 'public':
      return { ok: true };
    case 'reserved':
      return { ok: false, message: `Channel names starting with # are reserved: ${channel}`, status: 401 };
    case 'server-to-user': {
      const userId = channel.slice(SERVER_TO_USER_PREFIX.length);
      if (connection.user?.id === userId) return { ok: true };
      return { ok: false, message: `Subscription to ${channel} requires signing in as user ${userId}`, status: 401 };
    }
    case 'private':
    case 'encrypted':
      return verifyPrivate(app, connection.socketId, channel, auth, channelData);
    case 'presence':
      return authorizePresence(app, connection, channel, auth, channelData);
  }
}

function verifyPrivate(app: App, socketId: string, channel: string, auth: string | undefined, channelData?: string): Authorization {
  const plain = verifyToken(auth, app.key, app.secret, channelStringToSign(socketId, channel));
  if (plain.ok) return plain;
  // The Node SDK signs socket_id:channel:channel_data when the app passes data for a private channel.
  if (channelData !== undefined && plain.reason === 'wrong-signature') {
    const withData = verifyToken(auth, app.key, app.secret, channelStringToSign(socketId, channel, channelData));
    if (withData.ok) return withData;
  }
  return { ok: false, message: plain.message, status: 401 };
}

function authorizePresence(app: App, connection: Connection, channel: string, auth: string | undefined, channelData?: string): Authorization {
  if (channelData === undefined) {
    // A signed-in socket may join without channel_data: it joins as its user (§2.11), a JWT's
    // principal as its `sub`, not its `{tid}.{sub}` user id (§14.2).
    const user = connection.user;
    if (user === undefined) return { ok: false, message: `Presence channel ${channel} requires channel_data (or a signed-in user)`, status: 401 };
    const check = verifyToken(auth, app.key, app.secret, channelStringToSign(connection.socketId, channel));
    if (!check.ok) return { ok: false, message: check.message, status: 401 };
    const userId = connection.principal?.userId ?? user.id;
    return { ok: true, member: { userId, rawUserId: userId, info: user.info } };
  }
  const check = verifyToken(auth, app.key, app.secret, channelStringToSign(connection.socketId, channel, channelData));
  if (!check.ok) return { ok: false, message: check.message, status: 401 };
  const parsed = parseClientJson(channelData, 'channel_data');
  if (!parsed.ok) return { ok: false, message: `Invalid channel_data: ${parsed.message}`, status: 401 };
  const data = presenceChannelData.safeParse(parsed.value);
  if (!data.success) return { ok: false, message: `Invalid channel_data: ${describeIssue(data.error, 'channel_data')}`, status: 401 };
  const userId = String(data.data.user_id);
  if (userId.length > MAX_USER_ID_LENGTH) return { ok: false, message: `Invalid channel_data: user_id longer than ${MAX_USER_ID_LENGTH} characters`, status: 401 };
  const info = data.data.user_info === undefined ? null : data.data.user_info;
  const infoProblem = userInfoProblem(app, info);
  if (infoProblem !== undefined) return { ok: false, message: `Invalid channel_data: ${infoProblem}`, status: 401 };
  return { ok: true, member: { userId, rawUserId: data.data.user_id, info } };
}

function userInfoProblem(app: App, info: unknown): string | undefined {
  return JSON.stringify(info).length > app.maxPresenceUserInfoKb * 1024 ? `user_info larger than ${app.maxPresenceUserInfoKb} KB` : undefined;
}

/** The presence member a principal joins as (§14.2): `sub`, and the user info claim (null when absent). */
export function memberOf(app: App, principal: Principal): { member: PresenceMember } | { problem: string } {
  const info = userInfoOf(app.jwt, principal);
  const problem = userInfoProblem(app, info);
  if (problem !== undefined) return { problem: `claim ${app.jwt.userInfoClaim}: ${problem}` };
  return { member: { userId: principal.userId, rawUserId: principal.userId, info } };
}

/**
 * Authorization in `jwt` and `both` mode (§14.1-§14.4). Private and presence channels take a JWT
 * in `auth`, or the connection's principal when `auth` is empty; in `both` a Pusher signature
 * still works. Encrypted channels keep HMAC. A principal's every subscription passes the tenant
 * check and the policy; a subscriber without one is kept off tenant channels. The caller
 * records the principal's expiry once the subscription succeeded.
 */
export async function authorizeWithTokens(guards: TokenGuards, app: App, connection: Connection, kind: ChannelKind, request: SubscribeData): Promise<Authorization> {
  try {
    return await authorizeByTokens(guards, app, connection, kind, request);
  } catch (error) {
    // Revocations live in Redis (§14.6): while it is out of reach the client is told to retry.
    if (error instanceof EngineUnavailableError) return { ok: false, message: error.message, status: 503 };
    throw error;
  }
}

async function authorizeByTokens(guards: TokenGuards, app: App, connection: Connection, kind: ChannelKind, request: SubscribeData): Promise<Authorization> {
  const { channel, auth = '' } = request;
  let principal = connection.principal;
  const tokenChannel = kind === 'private' || kind === 'presence';
  if (tokenChannel && auth !== '' && (app.authMode === 'jwt' || looksLikeJwt(auth))) {
    const check = await verifyJwt(guards, app, auth);
    if (!check.ok) return { ok: false, message: check.message, status: 401 };
    principal = check.principal;
  } else if (tokenChannel && (auth !== '' || principal === undefined)) {
    // A Pusher signature: in `both` mode it authorizes as it always did, since the app signed it.
    if (app.authMode === 'jwt') return { ok: false, message: `Subscription to ${channel} requires a JWT in auth (or a signed-in token)`, status: 401 };
    principal = undefined;
  } else if (tokenChannel && principal?.jti !== undefined && (await guards.isRevoked(app.id, principal.jti))) {
    // An empty auth: the signed-in token authorizes this subscription, unless revoked since (§14.6).
    return { ok: false, message: 'token revoked', status: 401 };
  }
  if (principal === undefined) {
    const refusal = tenancyDenialWithoutPrincipal(app, channel);
    if (refusal !== undefined) return { ok: false, message: refusal, status: 403 };
    return authorize(app, connection, kind, request);
  }
  if (kind === 'encrypted' || kind === 'reserved' || kind === 'server-to-user') {
    const signed = authorize(app, connection, kind, request);
    if (!signed.ok || kind !== 'encrypted') return signed;
  }
  const decision = await authorizeAction(app, principal, channel, kind === 'presence' ? 'presence' : 'subscribe');
  if (!decision.ok) return { ok: false, message: decision.message, status: 403 };
  if (kind !== 'presence') return { ok: true, principal };
  const member = memberOf(app, principal);
  if ('problem' in member) return { ok: false, message: member.problem, status: 401 };
  return { ok: true, member: member.member, principal };
}
