// The offline fallback of publishes (docs/PROTOCOL.md §16.5): once the frame is delivered, every
// user a channel of the publish names and who had no live connection on any of those channels
// anywhere in the cluster gets the publish's notification on their devices, once per publish.
import { SERVER_TO_USER_PREFIX } from '../../protocol/index.js';
import type { App } from '../apps/registry.js';
import type { PushConfig } from '../config/schema.js';
import type { Occupancy, SignedInUsers } from '../engine/types.js';
import type { Logger } from '../logger.js';
import type { Notification, Push } from './types.js';

/** A push.userChannels entry split at its `{id}`. */
interface UserChannelPattern {
  prefix: string;
  suffix: string;
}

/** Split once per app settings object, not per publish. */
const compiledPatterns = new WeakMap<PushConfig, readonly UserChannelPattern[]>();

function patternsOf(push: PushConfig): readonly UserChannelPattern[] {
  let patterns = compiledPatterns.get(push);
  if (patterns === undefined) {
    // The schema allows exactly one {id} per pattern.
    patterns = push.userChannels.map((pattern) => {
      const at = pattern.indexOf('{id}');
      return { prefix: pattern.slice(0, at), suffix: pattern.slice(at + '{id}'.length) };
    });
    compiledPatterns.set(push, patterns);
  }
  return patterns;
}

/** The user a channel of push.userChannels names (the first matching pattern), or undefined. */
function userOfPattern(patterns: readonly UserChannelPattern[], channel: string): string | undefined {
  for (const { prefix, suffix } of patterns) {
    if (channel.length > prefix.length + suffix.length && channel.startsWith(prefix) && channel.endsWith(suffix)) {
      return channel.slice(prefix.length, channel.length - suffix.length);
    }
  }
  return undefined;
}

/** How a user's presence is judged: by a signed-in socket, and/or by the subscribers of their named channels. */
interface NamedUser {
  serverToUser: boolean;
  channels: string[];
}

/** The users the channels name, each once, with how each was named. */
function usersNamedBy(push: PushConfig, channels: readonly string[]): Map<string, NamedUser> {
  const patterns = patternsOf(push);
  const users = new Map<string, NamedUser>();
  const named = (id: string) => {
    let user = users.get(id);
    if (user === undefined) users.set(id, (user = { serverToUser: false, channels: [] }));
    return user;
  };
  for (const channel of channels) {
    if (channel.startsWith(SERVER_TO_USER_PREFIX)) {
      if (channel.length > SERVER_TO_USER_PREFIX.length) named(channel.slice(SERVER_TO_USER_PREFIX.length)).serverToUser = true;
      continue;
    }
    const id = userOfPattern(patterns, channel);
    if (id !== undefined) named(id).channels.push(channel);
  }
  return users;
}

/** What the fallback uses of the server: who is online, cluster-wide, and the push service. */
export interface OfflineContext {
  engine: Pick<Occupancy, 'subscriptionCount'> & Pick<SignedInUsers, 'onlineUsers'>;
  push: Push;
  log: Logger;
}

/** What a publish that carried `push` answers beside its usual fields (§16.5). */
export interface PushAnswer {
  queued: number;
  /** Set when the fallback failed after the frame went out: the publish itself succeeded. */
  error?: string;
}

/**
 * Call once the publish is delivered. A failure here (the device store or the queue unreachable)
 * does not fail the publish — its subscribers have the frame, and a retried publish would send it
 * twice — it is logged and answered in `error`.
 */
export async function offlineFallback(ctx: OfflineContext, app: App, channels: readonly string[], notification: Notification): Promise<PushAnswer> {
  try {
    return { queued: await pushToOfflineUsers(ctx, app, channels, notification) };
  } catch (error) {
    ctx.log.error({ err: error, appId: app.id }, 'offline push fallback failed after the publish was delivered');
    return { queued: 0, error: 'the offline push fallback failed; the event was published' };
  }
}

/** Resolves to the number of sends queued (0 when the channels name no user, or every named user was online). */
async function pushToOfflineUsers(ctx: OfflineContext, app: App, channels: readonly string[], notification: Notification): Promise<number> {
  const { engine, push } = ctx;
  const users = usersNamedBy(app.push!, channels);
  if (users.size === 0) return 0;
  const signedInCandidates = [...users].filter(([, user]) => user.serverToUser).map(([id]) => id);
  // engine.onlineUsers and subscriptionCount are cluster-wide with the Redis engine.
  const signedIn = signedInCandidates.length === 0 ? new Set<string>() : await engine.onlineUsers(app.id, signedInCandidates);
  const offline: string[] = [];
  await Promise.all(
    [...users].map(async ([id, user]) => {
      if (signedIn.has(id)) return;
      const counts = await Promise.all(user.channels.map((channel) => engine.subscriptionCount(app.id, channel)));
      if (counts.every((count) => count === 0)) offline.push(id);
    }),
  );
  if (offline.length === 0) return 0;
  return push.notify(app, await push.devices.forUsers(app.id, offline), notification);
}
