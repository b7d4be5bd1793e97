// pusher:signin (docs/PROTOCOL.md §2.11) and the watchlist (§2.14).
import {
  describeIssue,
  ErrorCode,
  ErrorMessage,
  parseClientJson,
  parseFrameData,
  signinData,
  signinSuccess,
  userData,
  userStringToSign,
  verifyToken,
  watchlistEvents,
  type WatchlistEvent,
} from '../../protocol/index.js';
import { socketRefused } from '../activity/auth-failures.js';
import type { ChannelContext } from '../context.js';
import { z } from 'zod';
import { looksLikeJwt, userInfoOf, verifyJwt } from '../auth/jwt.js';
import { signedInUserId } from '../auth/tenancy.js';
import type { Principal, TokenCheck } from '../auth/types.js';
import { EngineUnavailableError } from '../engine/types.js';
import type { OpenConnection, SignedInUser } from '../hub/connection.js';
import type { Membership } from '../hub/hub.js';

const MAX_WATCHLIST = 100;

/** A JWT signin (docs/PROTOCOL.md §14.2): `user_data` is ignored, so it may be absent. */
const tokenSigninData = z.object({ auth: z.string(), user_data: z.string().optional() });

export async function signin(ctx: ChannelContext, membership: Membership, connection: OpenConnection, data: unknown): Promise<void> {
  const app = connection.app;
  if (app.authMode !== 'hmac') {
    const parsed = parseFrameData(tokenSigninData, data, 'signin');
    if (!parsed.ok) {
      connection.error(ErrorCode.Unauthorized, parsed.message);
      return;
    }
    const { auth } = parsed.value;
    if (app.authMode === 'jwt' || looksLikeJwt(auth)) {
      let check: TokenCheck;
      try {
        check = await verifyJwt(ctx.engine, app, auth);
      } catch (error) {
        // Revocations live in Redis (§14.6): while it is out of reach the client hears why, not "Internal error".
        if (!(error instanceof EngineUnavailableError)) throw error;
        connection.error(null, error.message);
        return;
      }
      if (!check.ok) {
        ctx.log.debug({ appId: app.id, socketId: connection.socketId, reason: check.message }, 'signin refused');
        connection.error(ErrorCode.Unauthorized, check.message);
        socketRefused(ctx.activity, app, connection, 'signin', check.message);
        return;
      }
      await signInAs(ctx, membership, connection, check.principal);
      return;
    }
  }
  const parsed = parseFrameData(signinData, data, 'signin');
  if (!parsed.ok) {
    connection.error(ErrorCode.Unauthorized, parsed.message);
    return;
  }
  const { auth, user_data: userDataString } = parsed.value;
  const check = verifyToken(auth, app.key, app.secret, userStringToSign(connection.socketId, userDataString));
  if (!check.ok) {
    ctx.log.debug({ appId: app.id, socketId: connection.socketId, reason: check.message }, 'signin refused');
    connection.error(ErrorCode.Unauthorized, check.message);
    socketRefused(ctx.activity, app, connection, 'signin', check.message);
    return;
  }
  const value = parseClientJson(userDataString, 'user_data');
  if (!value.ok) {
    connection.error(ErrorCode.Unauthorized, `Invalid user_data: ${value.message}`);
    return;
  }
  const user = userData.safeParse(value.value);
  if (!user.success) {
    connection.error(ErrorCode.Unauthorized, `Invalid user_data: ${describeIssue(user.error, 'user_data')}`);
    return;
  }
  const { id, user_info: info, watchlist = [] } = user.data;
  await signInUser(ctx, membership, connection, { id, info, watchlist }, userDataString);
}

/**
 * Signs the connection in as a verified JWT's principal (a pusher:signin, or ?token= at connect)
 * as user `{tid}.{sub}`: `signin_success` carries `{"id": "{tid}.{sub}", "user_info": …}`
 * (docs/PROTOCOL.md §14.2, §14.3). The token's expiry counts once the signin succeeded.
 */
export async function signInAs(ctx: ChannelContext, membership: Membership, connection: OpenConnection, principal: Principal): Promise<void> {
  const id = signedInUserId(principal);
  const info = userInfoOf(connection.app.jwt, principal);
  // Set before the engine step, so a subscribe with an empty auth sent meanwhile finds it.
  if (connection.user === undefined || connection.user.id === id) connection.principal = principal;
  if (await signInUser(ctx, membership, connection, { id, info, watchlist: [] }, JSON.stringify({ id, user_info: info }))) connection.usedToken(principal);
}

/** Signs the connection in as `requested`; true when signin_success was sent. */
async function signInUser(ctx: ChannelContext, membership: Membership, connection: OpenConnection, requested: SignedInUser, userDataString: string): Promise<boolean> {
  const app = connection.app;
  const { id, info, watchlist } = requested;
  if (connection.user !== undefined) {
    if (connection.user.id !== id) {
      connection.error(ErrorCode.Unauthorized, `Already signed in as user ${connection.user.id}`);
      return false;
    }
    connection.send(signinSuccess(userDataString));
    return true;
  }
  const watched = app.watchlist ? watchlist.slice(0, MAX_WATCHLIST) : [];
  connection.user = { id, info, watchlist: watched };
  membership.signedIn(connection);
  await ctx.engine.addUserSocket(app.id, id, connection.socketId);
  if (connection.closed) return false;
  connection.send(signinSuccess(userDataString));
  ctx.log.debug({ appId: app.id, socketId: connection.socketId, userId: id }, 'signed in');
  if (watchlist.length > MAX_WATCHLIST) connection.error(ErrorCode.WatchlistLimit, ErrorMessage.watchlistLimit);
  if (watched.length > 0) {
    const online = await ctx.engine.onlineUsers(app.id, watched);
    const events: WatchlistEvent[] = [];
    const onlineIds = watched.filter((w) => online.has(w));
    const offlineIds = watched.filter((w) => !online.has(w));
    if (onlineIds.length > 0) events.push({ name: 'online', user_ids: onlineIds });
    if (offlineIds.length > 0) events.push({ name: 'offline', user_ids: offlineIds });
    connection.send(watchlistEvents(events));
  }
  return true;
}
