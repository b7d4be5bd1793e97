// The one place that opens Redis connections from `redisUrl` (plain or Sentinel).
import { Redis, type RedisOptions } from 'ioredis';
import { sentinelOptions } from './redis-url.js';

export function connectRedis(url: string, options: RedisOptions): Redis {
  const sentinel = sentinelOptions(url);
  return sentinel === undefined ? new Redis(url, options) : new Redis({ ...options, ...sentinel });
}
