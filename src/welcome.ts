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

/** `redis://:secret@host:6379` → `redis://host:6379`: credentials never reach stdout. */
function withoutCredentials(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//');
}

export function welcomeText({ config, port, shape, envFile, envAppId, metricsPort }: WelcomeInput): string {
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const scheme = config.tlsCert ? 'https' : 'http';
  const app = config.apps.find((a) => a.id === envAppId) ?? config.apps[0];
  const secret = app.secret === DEV_SECRET ? DEV_SECRET : '<the secret from your config>';
  const engine = config.redisUrl === undefined ? 'in-memory engine' : `Redis engine (${withoutCredentials(config.redisUrl)})`;
  const metricsHost = config.metricsHost === '0.0.0.0' ? '127.0.0.1' : config.metricsHost;
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
