import type { ServerConfig } from '../config/schema.js';
import { StaticAppRegistry, type AppRegistry } from './registry.js';

/** The one place that picks the app registry from config. */
export function createRegistry(config: ServerConfig): AppRegistry {
  return new StaticAppRegistry(config.apps);
}
