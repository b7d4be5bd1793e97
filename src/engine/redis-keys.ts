// Where the Redis engine keeps things. Every key and pub/sub channel starts with the deployment's
// prefix in braces ({prefix} below is literally "{broadcasty}" by default), and app state adds the
// app id, so deployments and apps sharing one Redis never meet. The braces are a Redis Cluster
// hash tag: every key of a deployment lives in one slot, so each Lua script and pipeline touches
// one node (standalone Redis ignores them).
//
//   {prefix}:nodes                  zset  live node → deadline (ms, Redis clock)
//   {prefix}:reaping                zset  dead node being cleaned up → lease deadline
//   {prefix}:reaped                 zset  cleaned-up node → when (tombstones, kept a day)
//   {prefix}:node:{node}            hash  counter field → what that node contributes (below)
//   {prefix}:node:~leases           hash  presence counter field → 1 per leased member: a pseudo-node,
//                                         never in nodes/reaping, so no reaper touches it; only its
//                                         lease's deadline removes it (docs/PROTOCOL.md §14.5)
//   {prefix}:leases                 zset  presence counter field of a leased member → deadline (ms,
//                                         Redis clock)
//   {prefix}:app:{app}:channels     hash  channel → subscriptions, cluster-wide
//   {prefix}:app:{app}:presence:{c} hash  user → connections in presence channel c
//   {prefix}:app:{app}:members:{c}  hash  user → member JSON (set by the user's first connection)
//   {prefix}:app:{app}:users        hash  user → signed-in sockets
//   {prefix}:app:{app}:connections  string connections counted against the app's quota
//   {prefix}:app:{app}:hits:{b}:{s} string hits of rate bucket b in epoch second s (expires after 2 s):
//                                         'requests' (HTTP API), and the §14.6 limits' buckets
//   {prefix}:app:{app}:nonce:{u}:{n} string nonce n that user u sent (docs/PROTOCOL.md §14.6), expires
//                                         after its replay window
//   {prefix}:app:{app}:revoked:{jti} string a revoked token id, expires when the token stops mattering
//   {prefix}:app:{app}:stream:{s}   hash  history stream s: offset (last sequence), epoch (set when
//                                         created), bytes (the stored frames' UTF-8 size)
//   {prefix}:app:{app}:history:{s}  stream the stored frames of stream s: entry id <offset>-0, fields
//                                         f (the complete frame) and t (publish time, ms, Redis clock)
//   {prefix}:app:{app}:idem:{key}   string an HTTP publish idempotency key: 'p' while publishing, then
//                                         the answer; expires with the window
//   {prefix}:app:{app}:cache:{c}    string last event of a cache channel, with TTL
//   {prefix}:app:{app}:bus          pub/sub  fan-out and user notices for the app
//   {prefix}:app:{app}:log          stream   the last busLogLength fan-out messages, for catch-up
//   {prefix}:app:{app}:tap          pub/sub  the app's activity for admin taps: the kinds other nodes watch
//   {prefix}:admin:nodes            zset  admin node → deadline (ms), pruned on every write (src/admin/cluster.ts)
//   {prefix}:admin:stats:{node}     string the node's admin figures as JSON with `at`, expires after 5 s
//   {prefix}:admin:watched          zset  watch mark `app \n node \n kind,kind` (a node's taps of the app and
//                                         the kinds they asked for) → deadline (ms), renewed every second
//
// A stream s is a history channel's partition: the channel name for partition 0, `channel#p`
// otherwise (streams.ts streamName; Lua: stream_name).
//
// The Lua scripts build the same names: LUA_LAYOUT below sits next to its TypeScript twin so
// the layout is written in one place.
import { taggedPrefix } from '../redis/keys.js';
import type { PresenceJoin, PresenceMember } from './types.js';

export type AppPart = 'channels' | 'presence' | 'members' | 'users' | 'connections' | 'hits' | 'nonce' | 'revoked' | 'stream' | 'history' | 'idem' | 'cache' | 'bus' | 'log' | 'tap';

export class RedisKeys {
  readonly nodes: string;
  readonly reaping: string;
  readonly reaped: string;
  readonly leases: string;
  readonly adminNodes: string;
  readonly adminWatched: string;
  /** Passed to every script as ARGV[1] and, for Cluster routing, as its one declared key. */
  readonly prefix: string;

  constructor(redisPrefix: string) {
    const prefix = taggedPrefix(redisPrefix);
    this.prefix = prefix;
    this.nodes = `${prefix}:nodes`;
    this.reaping = `${prefix}:reaping`;
    this.reaped = `${prefix}:reaped`;
    this.leases = `${prefix}:leases`;
    this.adminNodes = `${prefix}:admin:nodes`;
    this.adminWatched = `${prefix}:admin:watched`;
  }

  node(id: string): string {
    return `${this.prefix}:node:${id}`;
  }

  adminStats(node: string): string {
    return `${this.prefix}:admin:stats:${node}`;
  }

  app(appId: string, part: AppPart, channel?: string): string {
    return channel === undefined ? `${this.prefix}:app:${appId}:${part}` : `${this.prefix}:app:${appId}:${part}:${channel}`;
  }
}

/**
 * A node's counters, one field each: `kind \n app \n name [\n user]`. Channel names and app ids
 * never contain a newline; the user id, which may, always comes last.
 *   s: subscriptions to a channel   p: a user's connections in a presence channel
 *   u: a user's signed-in sockets   c: connections counted against the app
 */
export const counter = {
  subscriptions: (appId: string, channel: string) => `s\n${appId}\n${channel}`,
  presence: (appId: string, channel: string, userId: string) => `p\n${appId}\n${channel}\n${userId}`,
  user: (appId: string, userId: string) => `u\n${appId}\n${userId}`,
  connections: (appId: string) => `c\n${appId}\n`,
};

/** The app and channel of a subscriptions counter field. */
export function parseSubscriptionsCounter(field: string): { appId: string; channel: string } {
  const [, appId, channel] = field.split('\n', 3);
  return { appId, channel };
}

/** The app, channel and user of a presence counter field. */
export function parsePresenceCounter(field: string): { appId: string; channel: string; userId: string } {
  const [, appId, channel] = field.split('\n', 3);
  return { appId, channel, userId: field.slice(appId.length + channel.length + 4) };
}

export const LUA_LAYOUT = `
local PREFIX = ARGV[1]
local NODES, REAPING, REAPED = PREFIX .. ':nodes', PREFIX .. ':reaping', PREFIX .. ':reaped'
local LEASES, LEASE_NODE = PREFIX .. ':leases', '~leases'
local function node_key(id) return PREFIX .. ':node:' .. id end
local function app_key(app, part, channel)
  if channel then return PREFIX .. ':app:' .. app .. ':' .. part .. ':' .. channel end
  return PREFIX .. ':app:' .. app .. ':' .. part
end
-- A history channel's stream for a partition (a decimal string); twin of streams.ts streamName.
local function stream_name(channel, partition)
  if partition == '0' then return channel end
  return channel .. '#' .. partition
end
-- kind, app, name, user of a counter field
local function parse_counter(field)
  local kind = string.sub(field, 1, 1)
  local a = string.find(field, '\\n', 3, true)
  local app = string.sub(field, 3, a - 1)
  local rest = string.sub(field, a + 1)
  if kind == 'p' then
    local b = string.find(rest, '\\n', 1, true)
    return kind, app, string.sub(rest, 1, b - 1), string.sub(rest, b + 1)
  end
  return kind, app, rest, rest
end
`;

/** Stored once per member; the raw user id keeps its JSON type (number or string) for frames. */
export function encodeMember(member: PresenceMember): string {
  return JSON.stringify([member.rawUserId, member.info ?? null]);
}

export function decodeMember(userId: string, json: string): PresenceMember {
  const [rawUserId, info] = JSON.parse(json) as [string | number, unknown];
  return { userId, rawUserId, info };
}

/** HGETALL's flat user, member JSON list as a roster. */
export function decodeRoster(pairs: string[]): Map<string, PresenceMember> {
  const members = new Map<string, PresenceMember>();
  for (let i = 0; i < pairs.length; i += 2) members.set(pairs[i], decodeMember(pairs[i], pairs[i + 1]));
  return members;
}

/** join_presence's answer (redis-scripts.ts): [0] when full, else [1, first hold of the user, [user, member JSON, …]]. */
export type JoinAnswer = [0] | [1, 0 | 1, string[]];
const FULL: PresenceJoin = Object.freeze({ status: 'full' });

export function decodeJoin(answer: JoinAnswer): PresenceJoin {
  return answer[0] === 0 ? FULL : { status: 'joined', firstForUser: answer[1] === 1, roster: decodeRoster(answer[2]) };
}
