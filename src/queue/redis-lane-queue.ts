// The lane queue in Redis, so pending deliveries survive a restart and each job is sent by
// one node. A lane is a list; the node holding the lane's lease (`<lane>:lease`, SET NX PX with
// its node id) is the only one that delivers from it. The head is removed only after delivery
// (or giving up), so a node that dies mid-delivery leaves it for whoever claims the lease next:
// at-least-once, in order. A lease lives only while the lane has jobs, so whichever node pushes
// into an idle lane usually claims it and sends at once, without polling.
// Delayed events are a sorted set (member = cancel key, score = due time) plus a hash with the
// job and its lanes; every script is atomic, so a cancel and a release can never both win.
// Keys: {<redisPrefix>}:<appId>:<namespace>:… (every key is named by its app id; the braces are the
// deployment's Redis Cluster hash tag, src/redis/keys.ts). Lane names come from the user of the
// queue and start with `<appId>:<namespace>:` too.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { connectRedis } from '../redis/connect.js';
import { taggedPrefix } from '../redis/keys.js';
import type { Logger } from '../logger.js';
import { MAX_LANE_JOBS, type LaneQueue } from './lane-queue.js';

const PUSH = `
if ARGV[1] ~= '' and redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  redis.call('HDEL', KEYS[2], ARGV[1])
  return {}
end
local n = (#KEYS - 2) / 2
local owned = {}
for i = 1, n do
  if redis.call('LLEN', KEYS[2 + i]) >= tonumber(ARGV[5]) then
    owned[#owned + 1] = -i
  else
    redis.call('RPUSH', KEYS[2 + i], ARGV[2])
    if redis.call('SET', KEYS[2 + n + i], ARGV[3], 'NX', 'PX', ARGV[4]) then owned[#owned + 1] = i end
  end
end
return owned`;

const DELAY = `
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])`;

// Same due time: ZRANGEBYSCORE orders by member, and "removed…" sorts before "vacated…", which
// is the order the server reports a last member leaving. Lane keys come out of the stored
// entries, so they cannot be declared up front; they carry the same hash tag as the declared
// keys, so on Redis Cluster they live in the same slot, as the engine's keys do.
const RELEASE_DUE = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 500)
local owned = {}
for _, key in ipairs(due) do
  local raw = redis.call('HGET', KEYS[2], key)
  redis.call('ZREM', KEYS[1], key)
  redis.call('HDEL', KEYS[2], key)
  if raw then
    local entry = cjson.decode(raw)
    for _, lane in ipairs(entry.lanes) do
      if redis.call('LLEN', ARGV[4] .. lane) < tonumber(ARGV[5]) then
        redis.call('RPUSH', ARGV[4] .. lane, entry.job)
        if redis.call('SET', ARGV[4] .. lane .. ':lease', ARGV[2], 'NX', 'PX', ARGV[3]) then owned[#owned + 1] = lane end
      end
    end
  end
end
return owned`;

const ACK = `
if redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
redis.call('LTRIM', KEYS[1], ARGV[1], -1)
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1`;

const RELEASE = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 1 end
if redis.call('LLEN', KEYS[1]) > 0 then return 0 end
redis.call('DEL', KEYS[2])
return 1`;

// For each lane: renew our lease if we are draining it, else claim it if it has jobs and no owner.
const MAINTAIN = `
local n = #KEYS / 2
local owned = {}
for i = 1, n do
  if ARGV[2 + i] == '1' then
    if redis.call('GET', KEYS[n + i]) == ARGV[1] then redis.call('PEXPIRE', KEYS[n + i], ARGV[2]) end
  elseif redis.call('LLEN', KEYS[i]) > 0 and redis.call('SET', KEYS[n + i], ARGV[1], 'NX', 'PX', ARGV[2]) then
    owned[#owned + 1] = i
  end
end
return owned`;

const HAND_BACK = `
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('DEL', KEYS[i]) end
end`;

type Run = (...args: (string | number)[]) => Promise<unknown>;
interface Scripts {
  lanePush: Run;
  laneDelay: Run;
  laneReleaseDue: Run;
  laneAck: Run;
  laneRelease: Run;
  laneMaintain: Run;
  laneHandBack: Run;
}

export interface RedisLaneQueueOptions {
  url: string;
  /** The deployment's redisPrefix; keys use it as a hash tag, like the engine's. */
  prefix: string;
  /** Names this queue's keys after the app id (`webhooks`, `push`) and its log lines. */
  namespace: string;
  /** How long a claim outlives its last renewal; renewed about every second while draining. */
  leaseMs: number;
  log: Logger;
}

export class RedisLaneQueue<J> implements LaneQueue<J> {
  onOwned: (lanes: string[]) => void = () => {};
  onFull: (lane: string) => void = () => {};
  private readonly redis: Redis;
  private readonly scripts: Scripts;
  private readonly nodeId = randomUUID();
  private readonly prefix: string;
  private readonly namespace: string;
  private readonly leaseMs: number;
  private readonly log: Logger;

  constructor(options: RedisLaneQueueOptions) {
    this.prefix = `${taggedPrefix(options.prefix)}:`;
    this.namespace = options.namespace;
    this.leaseMs = options.leaseMs;
    this.log = options.log;
    // No request retry limit: a push issued during a Redis blip waits for the reconnect
    // instead of failing, and commands keep their issue order on this one connection.
    this.redis = connectRedis(options.url, { maxRetriesPerRequest: null });
    this.redis.on('error', (err: Error) => this.log.warn({ err: err.message }, `${this.namespace} queue: redis error`));
    const scripts = { lanePush: PUSH, laneDelay: DELAY, laneReleaseDue: RELEASE_DUE, laneAck: ACK, laneRelease: RELEASE, laneMaintain: MAINTAIN, laneHandBack: HAND_BACK };
    for (const [name, lua] of Object.entries(scripts)) this.redis.defineCommand(name, { lua });
    this.scripts = this.redis as unknown as Scripts;
  }

  /**
   * Resolves once connected, or after timeoutMs with Redis still away (commands then wait for
   * the connection): a node that starts taking events before its link is up would let another
   * node's later events reach a shared lane first.
   */
  ready(timeoutMs: number): Promise<void> {
    const redis = this.redis;
    if (redis.status === 'ready') return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        redis.off('ready', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      redis.once('ready', done);
    });
  }

  private delayedKeys(appId: string): [string, string] {
    const base = `${this.prefix}${appId}:${this.namespace}:delayed`;
    return [base, `${base}:jobs`];
  }

  push(appId: string, lanes: string[], job: J, cancelKey?: string): void {
    const keys = [...this.delayedKeys(appId), ...lanes.map((l) => this.prefix + l), ...lanes.map((l) => `${this.prefix}${l}:lease`)];
    this.scripts
      .lanePush(keys.length, ...keys, cancelKey ?? '', JSON.stringify(job), this.nodeId, this.leaseMs, MAX_LANE_JOBS)
      .then((owned) => this.claimed(lanes, owned as number[]))
      .catch((err: Error) => this.log.error({ err: err.message, appId }, `${this.namespace} queue: push failed; job dropped`));
  }

  delay(appId: string, cancelKey: string, dueAt: number, lanes: string[], job: J): void {
    const entry = JSON.stringify({ lanes, job: JSON.stringify(job) });
    this.scripts
      .laneDelay(2, ...this.delayedKeys(appId), cancelKey, dueAt, entry)
      .catch((err: Error) => this.log.error({ err: err.message, appId }, `${this.namespace} queue: delay failed; job dropped`));
  }

  async releaseDue(appIds: string[], now: number): Promise<void> {
    for (const appId of appIds) {
      const owned = (await this.scripts.laneReleaseDue(2, ...this.delayedKeys(appId), now, this.nodeId, this.leaseMs, this.prefix, MAX_LANE_JOBS)) as string[];
      if (owned.length > 0) this.onOwned(owned);
    }
  }

  async head(lane: string, max: number): Promise<J[]> {
    const raw = await this.redis.lrange(this.prefix + lane, 0, max - 1);
    return raw.map((r) => JSON.parse(r) as J);
  }

  async ack(lane: string, count: number): Promise<boolean> {
    return (await this.scripts.laneAck(2, this.prefix + lane, `${this.prefix}${lane}:lease`, count, this.nodeId, this.leaseMs)) === 1;
  }

  async release(lane: string): Promise<boolean> {
    return (await this.scripts.laneRelease(2, this.prefix + lane, `${this.prefix}${lane}:lease`, this.nodeId)) === 1;
  }

  async depth(lanes: string[]): Promise<number> {
    if (lanes.length === 0) return 0;
    const pipeline = this.redis.pipeline();
    for (const lane of lanes) pipeline.llen(this.prefix + lane);
    const replies = (await pipeline.exec()) ?? [];
    return replies.reduce((sum, [, length]) => sum + (typeof length === 'number' ? length : 0), 0);
  }

  async maintain(lanes: string[], draining: ReadonlySet<string>): Promise<void> {
    if (lanes.length === 0) return;
    const keys = [...lanes.map((l) => this.prefix + l), ...lanes.map((l) => `${this.prefix}${l}:lease`)];
    const flags = lanes.map((l) => (draining.has(l) ? '1' : '0'));
    const owned = (await this.scripts.laneMaintain(keys.length, ...keys, this.nodeId, this.leaseMs, ...flags)) as number[];
    this.claimed(lanes, owned);
  }

  async close(drainingLanes: readonly string[]): Promise<void> {
    try {
      if (drainingLanes.length > 0) {
        const keys = drainingLanes.map((l) => `${this.prefix}${l}:lease`);
        await this.scripts.laneHandBack(keys.length, ...keys, this.nodeId);
      }
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }

  /** Scripts answer with 1-based positions of the lanes they claimed, negated for full lanes. */
  private claimed(lanes: string[], positions: number[]): void {
    for (const i of positions) if (i < 0) this.onFull(lanes[-i - 1]);
    const owned = positions.filter((i) => i > 0).map((i) => lanes[i - 1]);
    if (owned.length > 0) this.onOwned(owned);
  }
}
