// Authorization per channel kind (docs/PROTOCOL.md §2.5, §4). Signatures are checked over the exact
// strings received; channel_data is parsed only after its signature verified.
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
import type { Connection } from '../hub/connection.js';
import type { PresenceMember } from '../engine/types.js';
import { SERVER_TO_USER_PREFIX } from '../../protocol/channels.js';

export type Authorization = { ok: true; member?: PresenceMember } | { ok: false; message: string };

const MAX_USER_ID_LENGTH = 128;

export function authorize(app: App, connection: Connection, kind: ChannelKind, request: SubscribeData): Authorization {
  const { channel, auth, channel_data: channelData } = request;
  switch (kind) {
    case 'public':
      return { ok: true };
    case 'reserved':
      return { ok: false, message: `Channel names starting with # are reserved: ${channel}` };
    case 'server-to-user': {
      const userId = channel.slice(SERVER_TO_USER_PREFIX.length);
      if (connection.user?.id === userId) return { ok: true };
      return { ok: false, message: `Subscription to ${channel} requires signing in as user ${userId}` };
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
  return { ok: false, message: plain.message };
}

function authorizePresence(app: App, connection: Connection, channel: string, auth: string | undefined, channelData?: string): Authorization {
  if (channelData === undefined) {
    // A signed-in socket may join without channel_data: it joins as its user (§2.11).
    const user = connection.user;
    if (user === undefined) return { ok: false, message: `Presence channel ${channel} requires channel_data (or a signed-in user)` };
    const check = verifyToken(auth, app.key, app.secret, channelStringToSign(connection.socketId, channel));
    if (!check.ok) return { ok: false, message: check.message };
    return { ok: true, member: { userId: user.id, rawUserId: user.id, info: user.info } };
  }
  const check = verifyToken(auth, app.key, app.secret, channelStringToSign(connection.socketId, channel, channelData));
  if (!check.ok) return { ok: false, message: check.message };
  const parsed = parseClientJson(channelData, 'channel_data');
  if (!parsed.ok) return { ok: false, message: `Invalid channel_data: ${parsed.message}` };
  const data = presenceChannelData.safeParse(parsed.value);
  if (!data.success) return { ok: false, message: `Invalid channel_data: ${describeIssue(data.error, 'channel_data')}` };
  const userId = String(data.data.user_id);
  if (userId.length > MAX_USER_ID_LENGTH) return { ok: false, message: `Invalid channel_data: user_id longer than ${MAX_USER_ID_LENGTH} characters` };
  const info = data.data.user_info === undefined ? null : data.data.user_info;
  if (JSON.stringify(info).length > app.maxPresenceUserInfoKb * 1024) {
    return { ok: false, message: `Invalid channel_data: user_info larger than ${app.maxPresenceUserInfoKb} KB` };
  }
  return { ok: true, member: { userId, rawUserId: data.data.user_id, info } };
}
