// Apps come from three places: `apps` in the config file, BROADCASTY_APPS, and the one app the
// env names (PUSHER_APP_* / REVERB_APP_* / BROADCASTY_APP_*, always present with a shared Laravel
// .env). None replaces another: an app with the same id is overlaid (later source wins field by
// field), a new id is added. Two definitions that cannot both be meant (one id with two secrets,
// one key on two ids) stop the start with both sources named.
import { ConfigError } from './env.js';
import { dottedPath } from './issues.js';

type RawApp = Record<string, unknown>;

/** Where a merged app's fields came from, to name the right setting in a validation error. */
export interface AppOrigin {
  file?: number;
  list?: number;
  /** Env name per field the env app set, e.g. key → PUSHER_APP_KEY. */
  env?: Map<string, string>;
}

export interface AppSources {
  file?: { apps: unknown; name: string };
  list?: unknown;
  /** Fields of the env app and the env name that set each. */
  env: { app: RawApp; names: Map<string, string> };
}

export interface MergedApps {
  /** Undefined when no source defines an app: the schema's dev app applies. */
  apps: RawApp[] | undefined;
  origins: AppOrigin[];
}

const LIST = 'BROADCASTY_APPS';

export function mergeApps(sources: AppSources): MergedApps {
  const apps: RawApp[] = [];
  const origins: AppOrigin[] = [];
  const fileLabel = (i: number) => `apps[${i}] of ${sources.file!.name}`;
  const label = (origin: AppOrigin) => (origin.list !== undefined ? `${LIST}[${origin.list}]` : fileLabel(origin.file!));

  const add = (list: unknown, tag: 'file' | 'list') => {
    // Not an array: left as is for the schema to reject with the setting's name.
    if (!Array.isArray(list)) return list;
    list.forEach((entry: unknown, i) => {
      const app = (typeof entry === 'object' && entry !== null ? entry : {}) as RawApp;
      const here = tag === 'file' ? fileLabel(i) : `${LIST}[${i}]`;
      const sameId = apps.findIndex((a) => a.id !== undefined && a.id === app.id);
      const sameKey = apps.findIndex((a) => a.key !== undefined && a.key === app.key);
      if (sameKey >= 0 && sameKey !== sameId) {
        throw conflict(`app key ${JSON.stringify(app.key)} is app ${JSON.stringify(apps[sameKey].id)} in ${label(origins[sameKey])} but app ${JSON.stringify(app.id)} in ${here}`);
      }
      if (sameId < 0) {
        apps.push({ ...app });
        origins.push({ [tag]: i });
        return;
      }
      for (const field of ['key', 'secret'] as const) {
        if (app[field] !== undefined && apps[sameId][field] !== undefined && app[field] !== apps[sameId][field]) {
          throw conflict(`app id ${JSON.stringify(app.id)} has a different ${field} in ${here} than in ${label(origins[sameId])}`);
        }
      }
      Object.assign(apps[sameId], app);
      origins[sameId][tag] = i;
    });
    return undefined;
  };
  const badFile = sources.file === undefined ? undefined : add(sources.file.apps, 'file');
  const badList = sources.list === undefined ? undefined : add(sources.list, 'list');
  // A non-array reaches the schema unchanged, so its error names the setting.
  if (badList !== undefined) return { apps: badList as RawApp[], origins: [] };
  if (badFile !== undefined) return { apps: badFile as RawApp[], origins: [] };

  const { app: envApp, names } = sources.env;
  if (Object.keys(envApp).length > 0) overlayEnvApp(apps, origins, envApp, names, label);
  return { apps: apps.length > 0 ? apps : undefined, origins };
}

function overlayEnvApp(apps: RawApp[], origins: AppOrigin[], envApp: RawApp, names: Map<string, string>, label: (o: AppOrigin) => string): void {
  let target: number;
  if (envApp.id !== undefined) {
    target = apps.findIndex((a) => a.id === envApp.id);
  } else if (apps.length <= 1) {
    target = apps.length - 1;
  } else {
    const first = [...names.values()][0];
    throw new ConfigError(`Invalid setting ${first}: ${apps.length} apps are configured and no BROADCASTY_APP_ID (or PUSHER_APP_ID, REVERB_APP_ID) says which one it is for`);
  }
  const keyOwner = apps.findIndex((a) => envApp.key !== undefined && a.key === envApp.key);
  if (keyOwner >= 0 && keyOwner !== target) {
    throw conflict(`app key ${JSON.stringify(envApp.key)} is app ${JSON.stringify(apps[keyOwner].id)} in ${label(origins[keyOwner])} but app ${JSON.stringify(envApp.id)} in ${names.get('key')} / ${names.get('id')}`);
  }
  if (target < 0) {
    apps.push({ id: 'app-id', key: 'app-key', secret: 'app-secret', ...envApp });
    origins.push({ env: names });
  } else {
    Object.assign(apps[target], envApp);
    origins[target].env = names;
  }
}

function conflict(detail: string): ConfigError {
  return new ConfigError(`Conflicting app definitions: ${detail}; define the app once or make them agree`);
}

/** The setting that holds `apps[i].<fieldPath>` after the merge, for error messages. */
export function appFieldSource(origins: AppOrigin[], index: number, fieldPath: (string | number)[], fileName: string | undefined): string | undefined {
  const origin = origins[index];
  if (origin === undefined) return undefined;
  const below = (n: number) => dottedPath(['', ...fieldPath.slice(n)]);
  // Env names may set a nested field (BROADCASTY_HISTORY_MAX_EVENTS → history.0.maxEvents): the longest match names it.
  for (let n = fieldPath.length; n > 0; n--) {
    const envName = origin.env?.get(fieldPath.slice(0, n).join('.'));
    if (envName !== undefined) return `${envName}${below(n)}`;
  }
  if (origin.list !== undefined) return `${LIST}[${origin.list}]${below(0)}`;
  if (origin.file !== undefined) return `apps[${origin.file}]${below(0)} in ${fileName}`;
  return origin.env === undefined ? undefined : [...origin.env.values()][0];
}
