import type { ServerConfig } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { LocalEngine } from './local.js';
import type { Engine } from './types.js';

/** The one place that decides local vs clustered; nothing else knows which runs. */
export function createEngine(config: ServerConfig, log: Logger): Engine {
  void log;
  if (config.redisUrl !== undefined) throw new Error('The Redis engine is not built yet (redisUrl is set)');
  return new LocalEngine();
}
