// Devices in Redis, shared by the cluster. Per app: a hash of devices (id → JSON without
// createdAt), a hash of first-registration times (id → ms, so a re-registration keeps it), a set
// per user and a set per interest (device ids). Registering and removing are Lua scripts, so the
// indexes and the maxDevicesPerUser trim never disagree with the devices.
// Keys: {<redisPrefix>}:<appId>:push:devices, …:push:created, …:push:user:<id>, …:push:interest:<name>.
import type { Redis } from 'ioredis';
import type { Logger } from '../../logger.js';
import { connectRedis } from '../../redis/connect.js';
import { taggedPrefix } from '../../redis/keys.js';
import type { Device, DeviceStore } from '../types.js';

// KEYS[1] is the app's devices hash (it routes the script on Redis Cluster; every key shares its
// hash tag), ARGV[1] the app's key base; removing a device drops it from the sets its stored JSON names.
const REMOVE_FN = `
local function remove(base, id)
  local raw = redis.call('HGET', base .. 'devices', id)
  if not raw then return 0 end
  local device = cjson.decode(raw)
  if type(device.userId) == 'string' then redis.call('SREM', base .. 'user:' .. device.userId, id) end
  for _, interest in ipairs(device.interests) do redis.call('SREM', base .. 'interest:' .. interest, id) end
  redis.call('HDEL', base .. 'devices', id)
  redis.call('HDEL', base .. 'created', id)
  return 1
end`;

// ARGV: base, id, json, createdAt, maxPerUser, userId ('' for none), interests…
// The first registration's time is kept. Oldest first by (createdAt, id), as the other stores;
// the device just registered is never dropped.
const REGISTER = `${REMOVE_FN}
local base, id = ARGV[1], ARGV[2]
local created = redis.call('HGET', base .. 'created', id) or ARGV[4]
local existed = remove(base, id)
redis.call('HSET', base .. 'devices', id, ARGV[3])
redis.call('HSET', base .. 'created', id, created)
for i = 7, #ARGV do redis.call('SADD', base .. 'interest:' .. ARGV[i], id) end
if ARGV[6] ~= '' then
  local userKey = base .. 'user:' .. ARGV[6]
  redis.call('SADD', userKey, id)
  local others = {}
  for _, other in ipairs(redis.call('SMEMBERS', userKey)) do
    if other ~= id then others[#others + 1] = { id = other, t = tonumber(redis.call('HGET', base .. 'created', other) or '0') } end
  end
  table.sort(others, function(a, b) if a.t ~= b.t then return a.t < b.t end return a.id < b.id end)
  for i = 1, #others + 1 - tonumber(ARGV[5]) do remove(base, others[i].id) end
end
return 1 - existed`;

const REMOVE = `${REMOVE_FN}
return remove(ARGV[1], ARGV[2])`;

type Run = (...args: (string | number)[]) => Promise<unknown>;
interface Scripts {
  pushRegister: Run;
  pushRemove: Run;
}

export interface RedisDeviceStoreOptions {
  url: string;
  prefix: string;
  log: Logger;
}

export class RedisDeviceStore implements DeviceStore {
  private readonly redis: Redis;
  private readonly scripts: Scripts;
  private readonly prefix: string;

  constructor(options: RedisDeviceStoreOptions) {
    this.prefix = `${taggedPrefix(options.prefix)}:`;
    this.redis = connectRedis(options.url, { maxRetriesPerRequest: 2 });
    this.redis.on('error', (err: Error) => options.log.warn({ err: err.message }, 'push devices: redis error'));
    this.redis.defineCommand('pushRegister', { lua: REGISTER });
    this.redis.defineCommand('pushRemove', { lua: REMOVE });
    this.scripts = this.redis as unknown as Scripts;
  }

  private base(appId: string): string {
    return `${this.prefix}${appId}:push:`;
  }

  async register(device: Device, maxPerUser: number): Promise<boolean> {
    const { createdAt, ...stored } = device;
    const base = this.base(device.appId);
    const added = await this.scripts.pushRegister(1, `${base}devices`, base, device.id, JSON.stringify(stored), createdAt, maxPerUser, device.userId ?? '', ...device.interests);
    return added === 1;
  }

  async get(appId: string, deviceId: string): Promise<Device | undefined> {
    return (await this.load(appId, [deviceId]))[0];
  }

  async remove(appId: string, deviceId: string): Promise<boolean> {
    const base = this.base(appId);
    return (await this.scripts.pushRemove(1, `${base}devices`, base, deviceId)) === 1;
  }

  async forUsers(appId: string, userIds: readonly string[]): Promise<Device[]> {
    if (userIds.length === 0) return [];
    return this.load(appId, await this.redis.sunion(...userIds.map((u) => `${this.base(appId)}user:${u}`)));
  }

  async forInterests(appId: string, interests: readonly string[]): Promise<Device[]> {
    if (interests.length === 0) return [];
    return this.load(appId, await this.redis.sunion(...interests.map((i) => `${this.base(appId)}interest:${i}`)));
  }

  async close(): Promise<void> {
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }

  private async load(appId: string, ids: string[]): Promise<Device[]> {
    if (ids.length === 0) return [];
    const base = this.base(appId);
    const [[, json], [, created]] = (await this.redis.multi().hmget(`${base}devices`, ...ids).hmget(`${base}created`, ...ids).exec())! as [
      [unknown, (string | null)[]],
      [unknown, (string | null)[]],
    ];
    const devices: Device[] = [];
    for (const [i, raw] of json.entries()) if (raw !== null) devices.push({ ...(JSON.parse(raw) as Omit<Device, 'createdAt'>), createdAt: Number(created[i]) });
    return devices;
  }
}
