// The one place that picks the device store from config (docs/PROTOCOL.md §16.1 `pushDevices`).
// Redis and SQL drivers are loaded only when used.
import type { ServerConfig } from '../../config/schema.js';
import type { Logger } from '../../logger.js';
import type { DeviceStore } from '../types.js';
import { MemoryDeviceStore } from './memory.js';

export async function createDeviceStore(config: ServerConfig, log: Logger): Promise<DeviceStore> {
  const kind = config.pushDevices === 'auto' ? (config.redisUrl === undefined ? 'memory' : 'redis') : config.pushDevices;
  switch (kind) {
    case 'memory':
      return new MemoryDeviceStore();
    case 'redis': {
      const { RedisDeviceStore } = await import('./redis.js');
      return new RedisDeviceStore({ url: config.redisUrl!, prefix: config.redisPrefix, log });
    }
    case 'postgres':
    case 'mysql': {
      const [{ connectSql }, { SqlDeviceStore }] = await Promise.all([import('../../apps/sql-clients.js'), import('./sql.js')]);
      return new SqlDeviceStore(await connectSql(kind, config.databaseUrl!, log), config.pushDevicesTable);
    }
  }
}
