// The one place that picks the app registry from config.
import type { ServerConfig } from '../config/schema.js';
import { createLogger, type Logger } from '../logger.js';
import { JsonFileRegistry } from './json-file.js';
import { StaticAppRegistry, type AppRegistry } from './registry.js';
import { connectSql } from './sql-clients.js';
import { SqlAppRegistry } from './sql-registry.js';

/** Every registry createRegistry returns; close() stops file watches and database pools. */
export interface ManagedRegistry extends AppRegistry {
  close(): Promise<void>;
}

class ConfigAppRegistry extends StaticAppRegistry implements ManagedRegistry {
  async close(): Promise<void> {}
}

/** Throws (ConfigError) at start when the json registry's file is missing or invalid. */
export async function createRegistry(config: ServerConfig, log: Logger = createLogger(config.logLevel)): Promise<ManagedRegistry> {
  switch (config.appRegistry) {
    case 'static':
      return new ConfigAppRegistry(config.apps);
    case 'json':
      return new JsonFileRegistry(config.appsFile!, log);
    case 'postgres':
    case 'mysql':
      return new SqlAppRegistry(await connectSql(config.appRegistry, config.databaseUrl!, log), {
        table: config.appsTable,
        cacheTtlMs: config.appsCacheTtlMs,
        log,
      });
  }
}

export { createAppsTable, appsTableDdl } from './sql-table.js';
