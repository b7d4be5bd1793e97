// What `broadcasty start` prints once it listens: the URL, the engine, the metrics URL, and the
// .env lines and Echo options for the connection the .env uses (Reverb or Pusher), to paste.
import type { ServerConfig } from './config/schema.js';
import type { EnvShape } from './config/laravel.js';

/** The only secret ever printed: the built-in dev app's. */
const DEV_SECRET = 'app-secret';

export interface WelcomeInput {
  config: ServerConfig;
  port: number;
  shape: EnvShape;
  envFile: string | undefined;
  /** The app the env names; else the first configured app is shown. */
  envAppId: string | undefined;
  /** The bound metrics port when known (config.metricsPort may be 0). */
  metricsPort?: number;
}

/** What differs between the two Laravel connections in the lines to paste. */
const CONNECTIONS: Record<EnvShape, { prefix: string; extra: string[]; vite: string[]; echo: string }> = {
  reverb: { prefix: 'REVERB', extra: [], vite: ['APP_KEY', 'HOST', 'PORT', 'SCHEME'], echo: '' },
  pusher: { prefix: 'PUSHER', extra: ['PUSHER_APP_CLUSTER=mt1'], vite: ['APP_KEY', 'HOST', 'PORT', 'SCHEME', 'APP_CLUSTER'], echo: " cluster: 'mt1'," },
};

/** A URL as it may be printed (`redis://:***@host:6379`): a password never reaches stdout. */
export function withoutPassword(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^:@/]*):[^@/]*@/i, '$1$2:***@');
}

/** Addresses a server binds to that a client cannot connect to. */
const ANY_ADDRESS = new Set(['0.0.0.0', '::', '[::]']);

/** The host a client on this machine puts in a URL: loopback for a wildcard bind address, IPv6 in brackets. */
const reachableHost = (bound: string): string => (ANY_ADDRESS.has(bound) ? '127.0.0.1' : bound.includes(':') && !bound.startsWith('[') ? `[${bound}]` : bound);

/** How a client on this machine reaches the server: what the welcome prints and the CLI commands call. */
export function clientEndpoint(config: Pick<ServerConfig, 'host' | 'tlsCert'>): { scheme: 'http' | 'https'; host: string } {
  return { scheme: config.tlsCert === undefined ? 'http' : 'https', host: reachableHost(config.host) };
}

export function welcomeText({ config, port, shape, envFile, envAppId, metricsPort }: WelcomeInput): string {
  const { scheme, host } = clientEndpoint(config);
  const app = config.apps.find((a) => a.id === envAppId) ?? config.apps[0];
  const secret = app.secret === DEV_SECRET ? DEV_SECRET : '<the secret from your config>';
  const engine = config.redisUrl === undefined ? 'in-memory engine' : `Redis engine (${withoutPassword(config.redisUrl)})`;
  const metricsHost = reachableHost(config.metricsHost);
  const heading =
    config.appRegistry === 'static' ? `Laravel .env (app "${app.id}"):` : `Laravel .env (apps come from the ${config.appRegistry} registry; fill in one of them):`;
  const { prefix, extra, vite, echo } = CONNECTIONS[shape];
  const envLines = [
    `BROADCAST_CONNECTION=${shape}`,
    `${prefix}_APP_ID=${app.id}`,
    `${prefix}_APP_KEY=${app.key}`,
    `${prefix}_APP_SECRET=${secret}`,
    `${prefix}_HOST=${host}`,
    `${prefix}_PORT=${port}`,
    `${prefix}_SCHEME=${scheme}`,
    ...extra,
  ];
  const echoOptions =
    `  { broadcaster: '${shape}', key: '${app.key}',${echo} wsHost: '${host}', wsPort: ${port}, wssPort: ${port}, forceTLS: ${scheme === 'https'},` +
    ` enabledTransports: ['ws', 'wss']${config.pathPrefix ? `, wsPath: '${config.pathPrefix}'` : ''} }`;
  return [
    `Broadcasty listening on ${scheme}://${host}:${port}${config.pathPrefix} (${engine})`,
    config.metrics ? `Metrics: http://${metricsHost}:${metricsPort ?? config.metricsPort}/metrics` : 'Metrics: off (BROADCASTY_METRICS=true serves Prometheus on port 9601)',
    envFile === undefined ? 'No .env found: settings from the environment only.' : `Read ${envFile} (${shape === 'reverb' ? 'Reverb' : 'Pusher'} connection).`,
    '',
    heading,
    ...envLines,
    '',
    ...vite.map((name) => `VITE_${prefix}_${name}="\${${prefix}_${name}}"`),
    '',
    'Echo options:',
    echoOptions,
    '',
  ].join('\n');
}
