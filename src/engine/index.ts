import type { ServerConfig } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { LocalEngine } from './local.js';
import type { Engine, EngineHooks } from './types.js';

/**
 * The one place that decides local vs clustered; nothing else knows which runs. The Redis engine
 * (and ioredis) is loaded only when configured.
 */
export async function createEngine(config: ServerConfig, log: Logger, hooks: EngineHooks): Promise<Engine> {
  const { redisUrl } = config;
  if (redisUrl === undefined) return new LocalEngine();
  const { RedisEngine } = await import('./redis-engine.js');
  return new RedisEngine({ ...config, redisUrl }, log, hooks);
}
