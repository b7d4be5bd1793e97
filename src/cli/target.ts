// Where a client command finds the server and the app: the same settings, .env and precedence as
// `broadcasty start`, so running a command next to the server needs no flags at all.
import { createRegistry } from '../apps/index.js';
import type { App } from '../apps/registry.js';
import { withDotenv } from '../config/dotenv.js';
import { loadSetup, type Setup } from '../config/load.js';
import type { ServerConfig } from '../config/schema.js';
import { clientEndpoint } from '../welcome.js';
import { UsageError, type Values } from './command.js';

export function loadSettings(values: Values): Setup {
  const { env } = withDotenv(process.env, { envFile: values['env-file'] as string | undefined });
  return loadSetup({ env, configFile: values.config as string | undefined });
}

/** `--url`, else http(s)://{host}:{port}{pathPrefix} of the settings (loopback for a wildcard host). */
export function serverUrl(values: Values, config: ServerConfig): string {
  const given = values.url as string | undefined;
  if (given !== undefined) {
    if (!/^https?:\/\/[^/]+/.test(given)) throw new UsageError(`--url must be an http:// or https:// URL, got ${JSON.stringify(given)}`);
    return given.replace(/\/+$/, '');
  }
  const { scheme, host } = clientEndpoint(config);
  return `${scheme}://${host}:${config.port}${config.pathPrefix}`;
}

/**
 * `--app`, else the only configured app, else the env's app. Apps kept in a JSON file or an SQL
 * table are looked up there, by id only: listing them is the registry's business.
 */
export async function resolveApp(values: Values, setup: Setup): Promise<App> {
  const { config } = setup;
  const requested = values.app as string | undefined;
  const wanted = requested ?? (config.apps.length === 1 ? config.apps[0]!.id : setup.envAppId);
  if (wanted === undefined) {
    if (config.apps.length === 0) {
      throw new UsageError(`no app in the settings: pass --app ID${config.appRegistry === 'static' ? ' or set BROADCASTY_APP_ID, BROADCASTY_APP_KEY, BROADCASTY_APP_SECRET' : ` (apps live in the ${config.appRegistry} registry)`}`);
    }
    throw new UsageError(`several apps are configured: pass --app with one of ${config.apps.map((app) => app.id).join(', ')}`);
  }
  const configured = config.apps.find((app) => app.id === wanted);
  if (configured !== undefined) return configured;
  if (config.appRegistry !== 'static') {
    const registry = await createRegistry(config);
    try {
      const found = await registry.findById(wanted);
      if (found !== undefined) return found;
    } finally {
      await registry.close();
    }
  }
  const known = config.apps.map((app) => app.id);
  throw new UsageError(`unknown app ${JSON.stringify(wanted)}${known.length > 0 ? `: the configured apps are ${known.join(', ')}` : ''}`);
}

interface AppTarget {
  setup: Setup;
  app: App;
  baseUrl: string;
}

/** Settings, app and URL of a Pusher API command. */
export async function appTarget(values: Values): Promise<AppTarget> {
  const setup = loadSettings(values);
  return { setup, app: await resolveApp(values, setup), baseUrl: serverUrl(values, setup.config) };
}

interface AdminAppTarget {
  appId: string;
  baseUrl: string;
  /** `--token`, else adminToken; none lets a server without one answer loopback. */
  token: string | undefined;
}

/** An admin command needs no secret: `--app` is passed as given and the server says whether it knows it. */
export async function adminTarget(values: Values): Promise<AdminAppTarget> {
  const setup = loadSettings(values);
  const appId = (values.app as string | undefined) ?? (await resolveApp(values, setup)).id;
  return { appId, baseUrl: serverUrl(values, setup.config), token: (values.token as string | undefined) ?? setup.config.adminToken };
}
