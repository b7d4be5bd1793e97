// `broadcasty migrate`: creates the SQL registry's apps table if it does not exist. Safe to rerun.
import { ConfigError } from '../config/env.js';
import type { ServerConfig } from '../config/schema.js';
import { connectSql } from './sql-clients.js';
import { createAppsTable } from './sql-table.js';

/** Returns a line for the operator; throws ConfigError when no SQL registry is configured. */
export async function migrate(config: ServerConfig): Promise<string> {
  if (config.appRegistry !== 'postgres' && config.appRegistry !== 'mysql') {
    throw new ConfigError(
      `Invalid setting appRegistry: got ${JSON.stringify(config.appRegistry)}; migrate needs "postgres" or "mysql" (BROADCASTY_APP_REGISTRY) and databaseUrl (BROADCASTY_DATABASE_URL)`,
    );
  }
  const client = await connectSql(config.appRegistry, config.databaseUrl!);
  try {
    await createAppsTable(client, config.appsTable);
  } catch (error) {
    throw new Error(`cannot create apps table ${config.appsTable} at ${where(config.databaseUrl!)}: ${(error as Error).message}`);
  } finally {
    await client.end();
  }
  return `apps table ${config.appsTable} is ready (${config.appRegistry})`;
}

/** Host and database only: the URL may carry a password, which must not reach the terminal or logs. */
function where(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.host}${parsed.pathname}`;
  } catch {
    return 'databaseUrl';
  }
}
