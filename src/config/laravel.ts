// What a Laravel (or soketi / Reverb) .env means for Broadcasty: where to listen, which
// connection the app uses, whether its Redis is ours to use, and which of its settings we do
// not read. Pure functions over the environment; load.ts applies them, the CLI prints them.

export type EnvShape = 'reverb' | 'pusher';

/** Where `php artisan reverb:start` listens with nothing set, and where soketi/Pusher setups expect us. */
export const SHAPE_LISTEN: Record<EnvShape, { host: string; port: number }> = {
  reverb: { host: '0.0.0.0', port: 8080 },
  pusher: { host: '0.0.0.0', port: 6001 },
};

/** The names the Laravel app (and Echo through VITE_*) uses to reach the server, per connection. */
export const CLIENT_NAMES: Record<EnvShape, { host: string; port: string; scheme: string }> = {
  reverb: { host: 'REVERB_HOST', port: 'REVERB_PORT', scheme: 'REVERB_SCHEME' },
  pusher: { host: 'PUSHER_HOST', port: 'PUSHER_PORT', scheme: 'PUSHER_SCHEME' },
};

const set = (env: NodeJS.ProcessEnv, name: string) => env[name] !== undefined && env[name] !== '';

/** BROADCAST_CONNECTION (BROADCAST_DRIVER before Laravel 11) decides; else Reverb keys mean Reverb. */
export function envShape(env: NodeJS.ProcessEnv): EnvShape {
  const connection = env.BROADCAST_CONNECTION ?? env.BROADCAST_DRIVER;
  if (connection === 'reverb' || connection === 'pusher') return connection;
  return set(env, 'REVERB_APP_KEY') ? 'reverb' : 'pusher';
}

export type Notice = { level: 'warn' | 'info'; message: string };

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/**
 * REVERB_HOST/PORT and PUSHER_HOST/PORT say where clients connect (often a TLS proxy on 443), so
 * they are never bound; but naming this machine with another port means Echo will not reach us.
 */
export function clientEndpointNotice(env: NodeJS.ProcessEnv, shape: EnvShape, listenPort: number): Notice | undefined {
  const names = CLIENT_NAMES[shape];
  const host = env[names.host];
  const port = Number(env[names.port]);
  if (host === undefined || !LOCAL_HOSTS.has(host) || !Number.isInteger(port) || port === listenPort || listenPort === 0) return undefined;
  const serverPort = shape === 'reverb' ? 'REVERB_SERVER_PORT' : 'BROADCASTY_PORT';
  return {
    level: 'warn',
    message:
      `${names.host}=${host} and ${names.port}=${port}, but Broadcasty listens on port ${listenPort}: Echo and Laravel will not reach it. ` +
      `Set ${serverPort}=${port}, or ${names.port}=${listenPort}.`,
  };
}

/** Opt-in for the app's own Redis: REDIS_URL alone (the Laravel cache's) never switches the engine. */
export const REDIS_OPT_IN = 'BROADCASTY_REDIS';

/** The Redis URL BROADCASTY_REDIS=1 selects, and the names it came from; undefined when not opted in. */
export function laravelRedis(env: NodeJS.ProcessEnv): { url: string; source: string } | undefined {
  if (!['1', 'true', 'yes', 'on'].includes((env[REDIS_OPT_IN] ?? '').toLowerCase())) return undefined;
  if (set(env, 'REDIS_URL')) return { url: env.REDIS_URL!, source: 'REDIS_URL' };
  // Laravel's .env writes `REDIS_PASSWORD=null` for "none"; its env() helper reads it as null.
  const secret = (name: string) => (set(env, name) && env[name] !== 'null' ? encodeURIComponent(env[name]!) : '');
  const user = secret('REDIS_USERNAME');
  const password = secret('REDIS_PASSWORD');
  const auth = user || password ? `${user}${password ? `:${password}` : ''}@` : '';
  const url = `redis://${auth}${env.REDIS_HOST || '127.0.0.1'}:${env.REDIS_PORT || '6379'}`;
  return { url, source: 'REDIS_HOST/REDIS_PORT/REDIS_PASSWORD' };
}

/** Settings users bring from soketi or Reverb that Broadcasty does not read, and what to use instead. */
interface ForeignSetting {
  name: string;
  instead: string;
  /** Values that ask for what Broadcasty does anyway: no warning. */
  harmless?: string[];
}

const OFF = ['0', 'false', 'no', 'off', ''];
const REDIS_INSTEAD = 'BROADCASTY_REDIS_URL (or BROADCASTY_REDIS=1 to use REDIS_URL / REDIS_HOST)';
const DB_INSTEAD = 'BROADCASTY_APP_REGISTRY=postgres|mysql with BROADCASTY_DATABASE_URL';

export const FOREIGN_SETTINGS: ForeignSetting[] = [
  { name: 'SOKETI_DEBUG', instead: 'BROADCASTY_DEBUG=1', harmless: OFF },
  { name: 'SOKETI_ADAPTER_DRIVER', instead: REDIS_INSTEAD, harmless: ['local'] },
  { name: 'SOKETI_ADAPTER_REDIS_PREFIX', instead: 'BROADCASTY_REDIS_PREFIX' },
  ...['HOST', 'PORT', 'DB', 'USERNAME', 'PASSWORD', 'SENTINELS', 'SENTINEL_PASSWORD', 'INSTANCE_NAME'].map((part) => ({
    name: `SOKETI_DB_REDIS_${part}`,
    instead: 'BROADCASTY_REDIS_URL (redis://user:password@host:port/db, redis+sentinel://host:port,…/name, redis+cluster://host:port,…)',
  })),
  { name: 'SOKETI_DB_REDIS_KEY_PREFIX', instead: 'BROADCASTY_REDIS_PREFIX' },
  { name: 'SOKETI_APP_MANAGER_DRIVER', instead: 'BROADCASTY_APP_REGISTRY (static, json, postgres, mysql)', harmless: ['array'] },
  { name: 'SOKETI_APP_MANAGER_MYSQL_TABLE', instead: 'BROADCASTY_APPS_TABLE' },
  { name: 'SOKETI_APP_MANAGER_POSTGRES_TABLE', instead: 'BROADCASTY_APPS_TABLE' },
  { name: 'SOKETI_APP_MANAGER_CACHE_TTL', instead: 'BROADCASTY_APPS_CACHE_TTL_MS' },
  ...['HOST', 'PORT', 'USERNAME', 'PASSWORD', 'DATABASE'].flatMap((part) => [
    { name: `SOKETI_DB_MYSQL_${part}`, instead: DB_INSTEAD },
    { name: `SOKETI_DB_POSTGRES_${part}`, instead: DB_INSTEAD },
  ]),
  { name: 'SOKETI_DEFAULT_APP_WEBHOOKS', instead: 'BROADCASTY_APP_WEBHOOKS (url, eventTypes, channelPrefix…; see docs/WEBHOOKS.md)' },
  { name: 'SOKETI_DEFAULT_APP_MAX_CLIENT_EVENTS_PER_SEC', instead: 'clientEventRateLimit of the app (config file or BROADCASTY_APPS)' },
  { name: 'SOKETI_DEFAULT_APP_MAX_BACKEND_EVENTS_PER_SEC', instead: 'BROADCASTY_APP_HTTP_RATE_LIMIT' },
  { name: 'SOKETI_DEFAULT_APP_MAX_READ_REQ_PER_SEC', instead: 'BROADCASTY_APP_HTTP_RATE_LIMIT' },
  { name: 'SOKETI_PRESENCE_MAX_MEMBERS', instead: 'BROADCASTY_APP_MAX_PRESENCE_MEMBERS' },
  { name: 'SOKETI_PRESENCE_MAX_MEMBER_SIZE', instead: 'maxPresenceUserInfoKb of the app (config file or BROADCASTY_APPS)' },
  { name: 'SOKETI_EVENT_MAX_SIZE_IN_KB', instead: 'maxEventPayloadKb of the app (config file or BROADCASTY_APPS)' },
  { name: 'SOKETI_CHANNEL_LIMITS_MAX_NAME_LENGTH', instead: 'maxChannelNameLength of the app (config file or BROADCASTY_APPS)' },
  { name: 'SOKETI_QUEUE_DRIVER', instead: `webhooks queue in Redis by themselves with ${REDIS_INSTEAD}`, harmless: ['sync'] },
  { name: 'SOKETI_RATE_LIMITER_DRIVER', instead: `limits are cluster-wide by themselves with ${REDIS_INSTEAD}`, harmless: ['local'] },
  { name: 'SOKETI_MODE', instead: 'BROADCASTY_WORKERS', harmless: ['full', 'worker'] },
  { name: 'SOKETI_SSL_PASS', instead: 'an unencrypted key in BROADCASTY_TLS_KEY' },
  { name: 'REVERB_SCALING_ENABLED', instead: REDIS_INSTEAD, harmless: OFF },
  { name: 'REVERB_SCALING_CHANNEL', instead: 'BROADCASTY_REDIS_PREFIX' },
  { name: 'REVERB_APP_PING_INTERVAL', instead: 'BROADCASTY_APP_ACTIVITY_TIMEOUT' },
  { name: 'REVERB_APP_MAX_MESSAGE_SIZE', instead: 'maxMessageBytes (config file)' },
  { name: 'REVERB_MAX_REQUEST_SIZE', instead: 'maxRequestBytes (config file)' },
  { name: 'REVERB_APP_ACCEPT_CLIENT_EVENTS_FROM', instead: 'BROADCASTY_APP_CLIENT_EVENTS (members of private and presence channels)' },
  { name: 'REVERB_PULSE_INGEST_INTERVAL', instead: 'BROADCASTY_METRICS=true (Prometheus)' },
  { name: 'REVERB_TELESCOPE_INGEST_INTERVAL', instead: 'BROADCASTY_DEBUG=1' },
];

/** Client-side names of a Laravel .env: the app and Echo read them, the server never does. */
const CLIENT_SIDE = new Set(Object.values(CLIENT_NAMES).flatMap((names) => Object.values(names)));

/**
 * One warning per SOKETI_* / REVERB_* setting present that Broadcasty does not read, naming
 * what to use instead, so a soketi setup with several pods never silently runs isolated nodes.
 */
export function foreignSettingNotices(env: NodeJS.ProcessEnv, readNames: ReadonlySet<string>): Notice[] {
  const notices: Notice[] = [];
  const known = new Map(FOREIGN_SETTINGS.map((s) => [s.name, s]));
  for (const name of Object.keys(env).sort()) {
    if (!/^(SOKETI|REVERB)_/.test(name) || readNames.has(name) || CLIENT_SIDE.has(name)) continue;
    const value = env[name] ?? '';
    const setting = known.get(name);
    if (setting?.harmless?.includes(value.trim().toLowerCase())) continue;
    const instead = setting === undefined ? 'see `broadcasty --help` for the settings Broadcasty reads' : `use ${setting.instead}`;
    notices.push({ level: 'warn', message: `${name} is not read by Broadcasty; ${instead}` });
  }
  return notices;
}
