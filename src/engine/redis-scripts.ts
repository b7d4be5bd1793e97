// The Lua scripts of the Redis engine. Each runs atomically, so the decisions that must be one
// truth across nodes (first/last connection of a presence user, which node cleans up a dead one,
// the sequence order of a channel) need no locks. ARGV[1] is always the key prefix; the scripts
// build key names from it (LUA_LAYOUT). The prefix is a hash tag, so on Redis Cluster all those
// keys share the slot of the one key each script declares.
import type { Redis } from 'ioredis';
import { LUA_LAYOUT } from './redis-keys.js';

const TIME = `
-- TIME's answer in ms
local function clock_ms(t)
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function now_ms()
  return clock_ms(redis.call('TIME'))
end
`;

// Moves one of a node's counters by delta and the cluster-wide total it feeds. A node never takes
// away more than it added, so a repeated or stray removal cannot push a total below the truth.
// Returns {total after, 1 if the total crossed zero (first in / last out), member JSON of a
// presence user who just left}. A user's first/last signed-in socket is announced on the bus.
const CHANGE = `
local function change(node, field, delta, member, announce)
  local own_key = node_key(node)
  if delta < 0 then
    local own = tonumber(redis.call('HGET', own_key, field) or '0')
    if own + delta < 0 then delta = -own end
  end
  local kind, app, name, user = parse_counter(field)
  local key, sub
  if kind == 's' then key, sub = app_key(app, 'channels'), name
  elseif kind == 'p' then key, sub = app_key(app, 'presence', name), user
  elseif kind == 'u' then key, sub = app_key(app, 'users'), user
  else key = app_key(app, 'connections') end
  if delta == 0 then
    local total
    if sub then total = redis.call('HGET', key, sub) else total = redis.call('GET', key) end
    return {tonumber(total or '0'), 0, false}
  end
  if redis.call('HINCRBY', own_key, field, delta) <= 0 then redis.call('HDEL', own_key, field) end
  local total
  if sub then total = redis.call('HINCRBY', key, sub, delta) else total = redis.call('INCRBY', key, delta) end
  if total <= 0 then
    if sub then redis.call('HDEL', key, sub) else redis.call('DEL', key) end
    total = 0
  end
  local crossed = (delta > 0 and total - delta <= 0) or (delta < 0 and total == 0)
  local left = false
  if crossed and kind == 'p' then
    local members = app_key(app, 'members', name)
    if delta > 0 then
      redis.call('HSET', members, user, member)
    else
      left = redis.call('HGET', members, user)
      redis.call('HDEL', members, user)
    end
  end
  if crossed and kind == 'u' and announce then
    redis.call('PUBLISH', app_key(app, 'bus'), (delta > 0 and 'o\\n' or 'f\\n') .. user)
  end
  return {total, crossed and 1 or 0, left}
end
-- One more hold (a node's socket, or a lease on LEASE_NODE) of a user on a presence channel,
-- refused when the user is not a member yet and the roster has max members: the check and the
-- join in one step, so joins on several nodes at once never pass it together. Returns {0} when
-- full (nothing changed), else {1, 1 if the user just became a member, the roster as user,
-- member JSON pairs}.
local function join_presence(node, field, member, max)
  local _, app, channel, user = parse_counter(field)
  local members = app_key(app, 'members', channel)
  if redis.call('HEXISTS', members, user) == 0 and redis.call('HLEN', members) >= max then return {0} end
  local r = change(node, field, 1, member, true)
  return {1, r[2], redis.call('HGETALL', members)}
end
-- Member JSON of a user a lease holds, read before the lease's hold goes (change() answers it
-- only for a last hold). A members hash lost with Redis's data leaves the bare id.
local function leased_member(field)
  local _, app, channel, user = parse_counter(field)
  return redis.call('HGET', app_key(app, 'members', channel), user) or cjson.encode({user, cjson.null})
end
-- Appends a subscriptions counter's (field, total, crossed zero) as change() reported them.
local function tally(list, field, r)
  list[#list + 1] = field
  list[#list + 1] = r[1]
  list[#list + 1] = r[2]
end
`;

// A history channel's stream: its hash (offset, epoch, bytes) and its stored frames (redis-keys.ts).
const HISTORY = `
-- The stream's epoch. A missing hash (never published, expired, or lost with Redis's data)
-- starts a new epoch from the clock t (TIME's answer), and history of the old one goes; so does
-- a hash without bytes, written by a version that sequenced every channel and kept no retention.
local function open_stream(stream, history, t, idle)
  local found = redis.call('HMGET', stream, 'epoch', 'bytes')
  if found[1] and found[2] then return found[1] end
  local epoch = t[1] .. string.format('%06d', tonumber(t[2]))
  redis.call('HSET', stream, 'epoch', epoch, 'offset', 0, 'bytes', 0)
  redis.call('EXPIRE', stream, idle)
  redis.call('DEL', history)
  return epoch
end
local function entry_offset(entry)
  return tonumber(string.sub(entry[1], 1, string.find(entry[1], '-', 1, true) - 1))
end
-- Drops the oldest entries while the stream holds more than max_events or max_bytes, or its
-- oldest was published before cutoff (ms). Each entry is read and dropped once, so a publish
-- costs amortized O(1); the usual case (one over the count) reads one entry.
local function trim(stream, history, max_events, max_bytes, cutoff)
  local stored = redis.call('XLEN', history)
  local length = stored
  local bytes = tonumber(redis.call('HGET', stream, 'bytes'))
  local keep, start, page = nil, '-', 1
  while length > 0 and not keep do
    local entries = redis.call('XRANGE', history, start, '+', 'COUNT', page)
    if #entries == 0 then break end
    for _, entry in ipairs(entries) do
      if length > max_events or bytes > max_bytes or tonumber(entry[2][4]) < cutoff then
        length = length - 1
        bytes = bytes - string.len(entry[2][2])
      else
        keep = entry[1]
        break
      end
    end
    if not keep then start = (entry_offset(entries[#entries]) + 1) .. '-0' end
    page = math.min(page * 2, 128)
  end
  if length == stored then return end
  if keep then redis.call('XTRIM', history, 'MINID', keep) else redis.call('XTRIM', history, 'MAXLEN', 0) end
  redis.call('HSET', stream, 'bytes', bytes)
end
`;

const script = (body: string) => LUA_LAYOUT + TIME + CHANGE + HISTORY + body;

const SOURCES = {
  // ARGV: prefix, node, field, delta, member JSON. Nothing (nil) for an incarnation that is no
  // longer registered: its counters are being or were reaped, and must not come back as orphans.
  bcChange: script(`
if not redis.call('ZSCORE', NODES, ARGV[2]) then return nil end
return change(ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], true)`),

  // ARGV: prefix, node, presence field, member JSON, max members. Nothing (nil) for an incarnation
  // no longer registered (as bcChange). Answers as join_presence.
  bcJoin: script(`
if not redis.call('ZSCORE', NODES, ARGV[2]) then return nil end
return join_presence(ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]))`),

  // ARGV: prefix, presence field, member JSON, ttl ms, max members. A leased member
  // (docs/PROTOCOL.md §14.5): a held lease gets the new deadline (never full, not first), else
  // the lease joins as join_presence on the pseudo-node. Answers as join_presence.
  bcLease: script(`
local field = ARGV[2]
local deadline = now_ms() + tonumber(ARGV[4])
if redis.call('ZSCORE', LEASES, field) then
  redis.call('ZADD', LEASES, deadline, field)
  local _, app, channel = parse_counter(field)
  return {1, 0, redis.call('HGETALL', app_key(app, 'members', channel))}
end
local joined = join_presence(LEASE_NODE, field, ARGV[3], tonumber(ARGV[5]))
if joined[1] == 1 then redis.call('ZADD', LEASES, deadline, field) end
return joined`),

  // ARGV: prefix, presence field, ttl ms. 1 when the lease was held and not past its deadline
  // (then it moves to now + ttl), else 0: an expired lease is gone even before a sweep takes it.
  bcRenewLease: script(`
local now = now_ms()
local deadline = redis.call('ZSCORE', LEASES, ARGV[2])
if not deadline or tonumber(deadline) <= now then return 0 end
redis.call('ZADD', LEASES, now + tonumber(ARGV[3]), ARGV[2])
return 1`),

  // ARGV: prefix, presence field. Ends the lease: {} when there was none, else {member JSON,
  // 1 when it was the user's last hold on the channel (member_removed is due)}.
  bcReleaseLease: script(`
if redis.call('ZREM', LEASES, ARGV[2]) == 0 then return {} end
local member = leased_member(ARGV[2])
return {member, change(LEASE_NODE, ARGV[2], -1, '', true)[2]}`),

  // ARGV: prefix, limit. Removes up to limit leases past their deadline; each is taken by exactly
  // one caller. Returns (presence field, member JSON, 1 when it was the user's last hold) triples.
  bcExpireLeases: script(`
local expired = redis.call('ZRANGEBYSCORE', LEASES, '-inf', now_ms(), 'LIMIT', 0, tonumber(ARGV[2]))
local result = {}
for _, field in ipairs(expired) do
  redis.call('ZREM', LEASES, field)
  result[#result + 1] = field
  result[#result + 1] = leased_member(field)
  result[#result + 1] = change(LEASE_NODE, field, -1, '', true)[2]
end
return result`),

  // ARGV: prefix, app, channel, frame, except socket, skip node, history (0/1), partition,
  // partitioned (0/1), max events, max bytes, max age ms, idle s, bus log length. Stream position,
  // history, bus log and PUBLISH in one step: the bus carries a channel's frames in stream order,
  // and the log id on each lets a node that lost its link fetch what it missed (redis-bus.ts).
  // On a history channel the frame arrives without its closing '}': the position fields complete
  // it here, so history, the bus and every subscriber get the same bytes. Without history no
  // stream key is touched. Returns {offset, epoch} ({0, ''} without history).
  bcPublish: script(`
local app, channel, frame, idle = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[13])
local offset, epoch = 0, ''
if ARGV[7] == '1' then
  local partition = ARGV[8]
  local name = stream_name(channel, partition)
  local stream, history = app_key(app, 'stream', name), app_key(app, 'history', name)
  local t = redis.call('TIME')
  epoch = open_stream(stream, history, t, idle)
  offset = redis.call('HINCRBY', stream, 'offset', 1)
  -- The twin of positionFields (types.ts): the same bytes in the same order.
  frame = frame .. ',"offset":' .. string.format('%d', offset) .. ',"epoch":"' .. epoch .. '"'
  if ARGV[9] == '1' then frame = frame .. ',"partition":' .. partition end
  frame = frame .. '}'
  local now = clock_ms(t)
  redis.call('XADD', history, offset .. '-0', 'f', frame, 't', now)
  redis.call('HINCRBY', stream, 'bytes', string.len(frame))
  trim(stream, history, tonumber(ARGV[10]), tonumber(ARGV[11]), now - tonumber(ARGV[12]))
  redis.call('EXPIRE', stream, idle)
  redis.call('EXPIRE', history, idle)
end
local body = channel .. '\\n' .. ARGV[5] .. '\\n' .. ARGV[6] .. '\\n' .. frame
local id = ''
local log_length = tonumber(ARGV[14])
if log_length > 0 then
  local log = app_key(app, 'log')
  id = redis.call('XADD', log, 'MAXLEN', '~', log_length, '*', 'm', body)
  redis.call('EXPIRE', log, idle)
end
redis.call('PUBLISH', app_key(app, 'bus'), 'd\\n' .. id .. '\\n' .. body)
return {offset, epoch}`),

  // ARGV: prefix, app, channel, partition, from, limit, max events, max bytes, max age ms, idle s.
  // Creates the stream when missing, so the position a subscriber is told (offset 0 of a new
  // epoch) still holds when the first event comes; applies the retention, then reads. Returns
  // {offset, epoch, first stored offset (offset + 1 when none), {offset, frame, …} from `from` on}.
  bcReadHistory: script(`
local name = stream_name(ARGV[3], ARGV[4])
local stream, history = app_key(ARGV[2], 'stream', name), app_key(ARGV[2], 'history', name)
local t = redis.call('TIME')
local epoch = open_stream(stream, history, t, tonumber(ARGV[10]))
trim(stream, history, tonumber(ARGV[7]), tonumber(ARGV[8]), clock_ms(t) - tonumber(ARGV[9]))
local offset = tonumber(redis.call('HGET', stream, 'offset'))
local first = offset + 1
local oldest = redis.call('XRANGE', history, '-', '+', 'COUNT', 1)[1]
if oldest then first = entry_offset(oldest) end
local entries, limit = {}, tonumber(ARGV[6])
-- XRANGE with COUNT 0 answers nil, not an empty list: a position-only read skips it.
if limit > 0 then
  for _, entry in ipairs(redis.call('XRANGE', history, ARGV[5] .. '-0', '+', 'COUNT', limit)) do
    entries[#entries + 1] = entry_offset(entry)
    entries[#entries + 1] = entry[2][2]
  end
end
return {offset, epoch, first, entries}`),

  // ARGV: prefix, app, key, window ms. Claims the key, or tells what holds it:
  // {1} claimed, {0, 'p'} still publishing, {0, answer} done.
  bcClaimIdempotencyKey: script(`
local key = app_key(ARGV[2], 'idem', ARGV[3])
if redis.call('SET', key, 'p', 'NX', 'PX', ARGV[4]) then return {1} end
return {0, redis.call('GET', key)}`),

  // ARGV: prefix, node, announce user notices (0/1), then (field, count, member JSON) triples.
  // Returns {the presence fields whose user became present (the caller announces member_added),
  // (field, total, crossed zero) of each subscriptions counter}.
  bcRestore: script(`
local added, subscribers = {}, {}
for i = 4, #ARGV, 3 do
  local r = change(ARGV[2], ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2], ARGV[3] == '1')
  local kind = string.sub(ARGV[i], 1, 1)
  if r[2] == 1 and kind == 'p' then added[#added + 1] = ARGV[i] end
  if kind == 's' then tally(subscribers, ARGV[i], r) end
end
return {added, subscribers}`),

  // ARGV: prefix, new node ('' on shutdown), previous node ('' if none), deadline ms, lease ms.
  // Retires the previous incarnation for the caller to reap (others take over after the lease)
  // and tells how Redis remembered it: 0 not at all (first start, or Redis lost its data),
  // 1 alive, 2 declared dead.
  bcRegister: script(`
local now, new, old = now_ms(), ARGV[2], ARGV[3]
local status = 0
if old ~= '' then
  if redis.call('ZSCORE', NODES, old) then
    status = 1
    redis.call('ZREM', NODES, old)
    redis.call('ZADD', REAPING, now + tonumber(ARGV[5]), old)
  elseif redis.call('ZSCORE', REAPING, old) or redis.call('ZSCORE', REAPED, old) then
    status = 2
  end
end
if new ~= '' then redis.call('ZADD', NODES, now + tonumber(ARGV[4]), new) end
return status`),

  // ARGV: prefix, node, deadline ms, lease ms, may claim expired nodes (0/1).
  // Returns {1 if this node is still registered, a dead node this caller now cleans up or false}.
  bcHeartbeat: script(`
local now, node = now_ms(), ARGV[2]
if not redis.call('ZSCORE', NODES, node) then return {0, false} end
redis.call('ZADD', NODES, now + tonumber(ARGV[3]), node)
local dead = false
if ARGV[5] == '1' then
  dead = redis.call('ZRANGEBYSCORE', NODES, '-inf', now, 'LIMIT', 0, 1)[1] or false
  if dead then redis.call('ZREM', NODES, dead) end
end
if not dead then dead = redis.call('ZRANGEBYSCORE', REAPING, '-inf', now, 'LIMIT', 0, 1)[1] or false end
if dead then redis.call('ZADD', REAPING, now + tonumber(ARGV[4]), dead) end
return {1, dead}`),

  // ARGV: prefix, dead node, batch size, lease ms. Takes back one batch of the node's counters;
  // several callers may work on one node, each batch is taken once. Returns {1 when the node is
  // gone, the presence fields and member JSON of users whose last connection it held,
  // (field, total afterwards, crossed zero) of each subscriptions counter it held}.
  bcReap: script(`
local now, dead, limit = now_ms(), ARGV[2], tonumber(ARGV[3])
local own_key = node_key(dead)
local batch, cursor = {}, '0'
repeat
  local page = redis.call('HSCAN', own_key, cursor, 'COUNT', limit)
  cursor = page[1]
  for _, v in ipairs(page[2]) do batch[#batch + 1] = v end
until cursor == '0' or #batch >= 2 * limit
local left, remaining = {}, {}
for i = 1, #batch, 2 do
  local r = change(dead, batch[i], -tonumber(batch[i + 1]), '', true)
  if r[3] then
    left[#left + 1] = batch[i]
    left[#left + 1] = r[3]
  end
  if string.sub(batch[i], 1, 1) == 's' then tally(remaining, batch[i], r) end
end
if redis.call('EXISTS', own_key) == 1 then
  redis.call('ZADD', REAPING, now + tonumber(ARGV[4]), dead)
  return {0, left, remaining}
end
redis.call('ZREM', REAPING, dead)
redis.call('ZADD', REAPED, now, dead)
redis.call('ZREMRANGEBYSCORE', REAPED, '-inf', now - 86400000)
return {1, left, remaining}`),

  // ARGV: prefix, app, bucket, epoch second. Counts one hit in the bucket's window for it.
  bcCountHit: script(`
local key = app_key(ARGV[2], 'hits', ARGV[3] .. ':' .. ARGV[4])
local count = redis.call('INCR', key)
if count == 1 then redis.call('PEXPIRE', key, 2000) end
return count`),

  // ARGV: prefix, app, channel. The cached event and its remaining time to live.
  bcGetCache: script(`
local key = app_key(ARGV[2], 'cache', ARGV[3])
return {redis.call('GET', key), redis.call('PTTL', key)}`),
};

type Arg = string | number;
type ScriptName = keyof typeof SOURCES;
export type Scripts = Record<ScriptName, (...args: Arg[]) => Promise<unknown>>;

/**
 * Registers every script on the connection (EVALSHA, reloaded by ioredis after a Redis restart).
 * Each declares one key, the hash-tagged prefix it gets as ARGV[1] anyway: on Redis Cluster that
 * routes it to the node holding the deployment's slot, where every key it builds lives.
 */
export function defineScripts(redis: Redis): Scripts {
  const scripts = {} as Scripts;
  for (const [name, lua] of Object.entries(SOURCES) as [ScriptName, string][]) {
    redis.defineCommand(name, { numberOfKeys: 1, lua });
    const fn = (redis as unknown as Record<ScriptName, (...args: Arg[]) => Promise<unknown>>)[name];
    scripts[name] = (prefix, ...args) => fn.call(redis, prefix, prefix, ...args);
  }
  return scripts;
}
