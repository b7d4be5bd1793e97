import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { appFieldSource, mergeApps, type AppOrigin } from './apps-merge.js';
import { ConfigError, ENV_TABLE, readEnv } from './env.js';
import { dottedPath, gotValue } from './issues.js';
import { clientEndpointNotice, envShape, foreignSettingNotices, laravelRedis, REDIS_OPT_IN, SHAPE_LISTEN, type EnvShape, type Notice } from './laravel.js';
import { appSchema, serverSchema, type ServerConfig } from './schema.js';

export { ConfigError };
export type { Notice };

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  configFile?: string;
  /** Command-line overrides (highest precedence). */
  overrides?: Record<string, unknown>;
}

export interface Setup {
  config: ServerConfig;
  /** Reverb-shaped (REVERB_APP_KEY or BROADCAST_CONNECTION=reverb) or Pusher/soketi-shaped env. */
  shape: EnvShape;
  /** Id of the app the env names (PUSHER_APP_ID…), the one the welcome shows. */
  envAppId: string | undefined;
  /** Things the operator should know about the settings found; the CLI logs them at start. */
  notices: Notice[];
  /** The operator's name for a config path (env name, file entry), for checks made after loading. */
  settingName: (path: (string | number)[]) => string;
}

/** Precedence: defaults < config file < environment < command line. */
export function loadConfig(options: LoadOptions = {}): ServerConfig {
  return loadSetup(options).config;
}

export function loadSetup(options: LoadOptions = {}): Setup {
  const env = options.env ?? process.env;
  const file = options.configFile === undefined ? {} : readConfigFile(options.configFile);
  const overlay = readEnv(env);
  const shape = envShape(env);
  const notices: Notice[] = [];
  const { apps: fileApps, ...fileSettings } = file;
  const { apps: listApps, ...envSettings } = overlay.server;
  const raw: Record<string, unknown> = { ...fileSettings, ...envSettings, ...(options.overrides ?? {}) };
  // A Reverb .env listens where `php artisan reverb:start` would (REVERB_SERVER_* are in ENV_TABLE).
  raw.host ??= SHAPE_LISTEN[shape].host;
  raw.port ??= SHAPE_LISTEN[shape].port;

  if (raw.redisUrl === undefined) {
    const redis = laravelRedis(env);
    if (redis !== undefined) {
      raw.redisUrl = redis.url;
      overlay.sources.set('redisUrl', redis.source);
    } else if (env.REDIS_URL) {
      notices.push({ level: 'info', message: `REDIS_URL is set (Laravel's) but not used: in-memory engine. ${REDIS_OPT_IN}=1 runs the Redis engine on it.` });
    }
  }

  const envNames = new Map([...overlay.sources].filter(([path]) => path.startsWith('app.')).map(([path, name]) => [path.slice(4), name]));
  const merged = mergeApps({
    file: fileApps === undefined ? undefined : { apps: fileApps, name: options.configFile! },
    list: listApps,
    env: { app: overlay.app, names: envNames },
  });
  if (merged.apps !== undefined) raw.apps = merged.apps;

  const parsed = serverSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.error, raw, overlay.sources, merged.origins, options.configFile));
  const config = parsed.data;
  if (config.debug && config.logLevel !== 'trace') config.logLevel = 'debug';

  const endpoint = clientEndpointNotice(env, shape, config.port);
  if (endpoint !== undefined) notices.push(endpoint);
  const readNames = new Set(ENV_TABLE.flatMap((s) => s.names));
  notices.push(...foreignSettingNotices(env, readNames));
  const name = (path: (string | number)[]) => settingName(path, overlay.sources, merged.origins, options.configFile);
  return { config, shape, envAppId: overlay.app.id as string | undefined, notices, settingName: name };
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`Invalid setting --config: cannot read ${file} (${(error as Error).message})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`Invalid setting --config: ${file} is not valid JSON at ${jsonErrorPlace(text, error as Error)} (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(`Invalid setting --config: ${file} must hold a JSON object ({"port": 6001, "apps": [...]}), got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`);
  }
  return value as Record<string, unknown>;
}

/** "line L column C" of a JSON.parse failure: V8 reports a character offset (or nothing at the end). */
export function jsonErrorPlace(text: string, error: Error): string {
  const position = /position (\d+)/.exec(error.message);
  const offset = position === null ? text.length : Number(position[1]);
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `line ${line} column ${column}`;
}

function describeIssues(error: z.ZodError, raw: Record<string, unknown>, sources: Map<string, string>, origins: AppOrigin[], file?: string): string {
  const lines = error.issues.flatMap((issue) => {
    const path = issue.path;
    const where = (p: (string | number)[]) => settingName(p, sources, origins, file);
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => {
        const known = Object.keys(path.length === 0 ? serverSchema.innerType().shape : path[0] === 'apps' && path.length === 2 ? appSchema.innerType().shape : {});
        const hint = nearest(key, known);
        return `Unknown setting ${where([...path, key])}: not a Broadcasty setting${hint === undefined ? '; `broadcasty --help` lists them' : ` (did you mean ${hint}?)`}`;
      });
    }
    return [`Invalid setting ${where(path)}: got ${gotValue(raw, path)}; ${issue.message}`];
  });
  return lines.join('\n');
}

/** The name the operator used for this setting: the env name, the BROADCASTY_APPS entry, or the file and field. */
function settingName(path: (string | number)[], sources: Map<string, string>, origins: AppOrigin[], file?: string): string {
  if (path[0] === 'apps' && typeof path[1] === 'number') {
    const name = appFieldSource(origins, path[1], path.slice(2), file);
    if (name !== undefined) return name;
  }
  const dotted = dottedPath(path);
  const envName = sources.get(dotted) ?? (path[0] === 'apps' ? sources.get('apps') : undefined);
  if (envName !== undefined) return path[0] !== 'apps' || path.length === 1 ? envName : `${envName} ${dotted}`;
  return file ? `${dotted} in ${file}` : dotted;
}

/** A known setting one or two edits away from a mistyped one. */
function nearest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length];
}
