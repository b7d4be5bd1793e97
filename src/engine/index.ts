import type { ServerConfig } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { LocalEngine } from './local.js';
import { RedisEngine } from './redis-engine.js';
import type { Engine } from './types.js';

/** The one place that decides local vs clustered; nothing else knows which runs. */
export function createEngine(config: ServerConfig, log: Logger): Engine {
  const { redisUrl } = config;
  return redisUrl === undefined ? new LocalEngine() : new RedisEngine({ ...config, redisUrl }, log);
}
