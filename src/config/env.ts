// One table of every environment name. Users bring the names they already have in .env
// (Pusher, Reverb, soketi); BROADCASTY_* wins over them. `broadcasty --help` prints this table.

type Kind = 'string' | 'int' | 'bool' | 'json' | 'list' | 'pem';

export interface EnvSetting {
  /** Names tried in order; the first one set wins. */
  names: string[];
  /** Dotted path in the config object; `app.` means the single app built from env; a number indexes an array. */
  path: string;
  kind: Kind;
  /** One line for --help when the path alone does not say it. */
  help?: string;
  /** Path of a setting that must be set too: the one this one refines. */
  requires?: string;
}

const HISTORY_CHANNELS = 'app.history.0.channels';

export const ENV_TABLE: EnvSetting[] = [
  { names: ['BROADCASTY_HOST', 'REVERB_SERVER_HOST', 'SOKETI_HOST'], path: 'host', kind: 'string' },
  { names: ['BROADCASTY_PORT', 'PORT', 'REVERB_SERVER_PORT', 'SOKETI_PORT'], path: 'port', kind: 'int' },
  { names: ['BROADCASTY_PATH_PREFIX', 'REVERB_SERVER_PATH', 'SOKETI_PATH_PREFIX'], path: 'pathPrefix', kind: 'string' },
  { names: ['BROADCASTY_TLS_CERT', 'SOKETI_SSL_CERT'], path: 'tlsCert', kind: 'string' },
  { names: ['BROADCASTY_TLS_KEY', 'SOKETI_SSL_KEY'], path: 'tlsKey', kind: 'string' },
  { names: ['BROADCASTY_LOG_LEVEL'], path: 'logLevel', kind: 'string', help: 'fatal, error, warn, info, debug, trace or silent' },
  { names: ['BROADCASTY_DEBUG'], path: 'debug', kind: 'bool', help: 'one log line per connect, close, subscribe, signin, client event, publish, webhook' },
  { names: ['BROADCASTY_MAX_BACKPRESSURE_BYTES'], path: 'maxBackpressureBytes', kind: 'int' },
  { names: ['BROADCASTY_MAX_SOCKETS_PER_PROCESS'], path: 'maxSocketsPerProcess', kind: 'int' },
  { names: ['BROADCASTY_SHUTDOWN_GRACE_MS', 'SOKETI_SHUTDOWN_GRACE_PERIOD'], path: 'shutdownGraceMs', kind: 'int' },
  // REDIS_URL is in most Laravel .env files for the app's own cache: it must not switch the
  // engine by itself (see laravel.ts: BROADCASTY_REDIS=1 opts in).
  { names: ['BROADCASTY_REDIS_URL'], path: 'redisUrl', kind: 'string', help: 'clustered engine; BROADCASTY_REDIS=1 uses REDIS_URL or REDIS_HOST/PORT/PASSWORD instead' },
  { names: ['BROADCASTY_REDIS_PREFIX'], path: 'redisPrefix', kind: 'string' },
  { names: ['BROADCASTY_NODE_TTL'], path: 'nodeTtl', kind: 'int' },
  { names: ['BROADCASTY_IDEMPOTENCY_WINDOW'], path: 'idempotencyWindowSeconds', kind: 'int', help: 'seconds an HTTP publish\'s Idempotency-Key is remembered' },
  { names: ['BROADCASTY_WORKERS'], path: 'workers', kind: 'int' },
  { names: ['BROADCASTY_METRICS', 'SOKETI_METRICS_ENABLED'], path: 'metrics', kind: 'bool' },
  { names: ['BROADCASTY_METRICS_HOST'], path: 'metricsHost', kind: 'string' },
  { names: ['BROADCASTY_METRICS_PORT', 'SOKETI_METRICS_SERVER_PORT'], path: 'metricsPort', kind: 'int' },
  { names: ['BROADCASTY_WEBHOOK_BATCH_MS'], path: 'webhookBatchMs', kind: 'int' },
  { names: ['BROADCASTY_WEBHOOK_TIMEOUT_MS'], path: 'webhookTimeoutMs', kind: 'int' },
  { names: ['BROADCASTY_WEBHOOK_RETRY_WINDOW_MS'], path: 'webhookRetryWindowMs', kind: 'int' },
  { names: ['BROADCASTY_WEBHOOK_DELAY_MS'], path: 'webhookDelayMs', kind: 'int' },
  { names: ['BROADCASTY_APPS'], path: 'apps', kind: 'json', help: 'JSON array of apps, merged with the config file\'s apps and the env app' },
  { names: ['BROADCASTY_APP_REGISTRY'], path: 'appRegistry', kind: 'string' },
  { names: ['BROADCASTY_APPS_FILE'], path: 'appsFile', kind: 'string' },
  { names: ['BROADCASTY_DATABASE_URL'], path: 'databaseUrl', kind: 'string' },
  { names: ['BROADCASTY_APPS_TABLE'], path: 'appsTable', kind: 'string' },
  { names: ['BROADCASTY_APPS_CACHE_TTL_MS'], path: 'appsCacheTtlMs', kind: 'int' },
  { names: ['BROADCASTY_APP_ID', 'PUSHER_APP_ID', 'REVERB_APP_ID', 'SOKETI_DEFAULT_APP_ID'], path: 'app.id', kind: 'string', help: 'the env app: merged into the configured app with this id, or added' },
  { names: ['BROADCASTY_APP_KEY', 'PUSHER_APP_KEY', 'REVERB_APP_KEY', 'SOKETI_DEFAULT_APP_KEY'], path: 'app.key', kind: 'string' },
  { names: ['BROADCASTY_APP_SECRET', 'PUSHER_APP_SECRET', 'REVERB_APP_SECRET', 'SOKETI_DEFAULT_APP_SECRET'], path: 'app.secret', kind: 'string' },
  { names: ['BROADCASTY_APP_MAX_CONNECTIONS', 'SOKETI_DEFAULT_APP_MAX_CONNS'], path: 'app.maxConnections', kind: 'int' },
  { names: ['BROADCASTY_APP_CLIENT_EVENTS', 'SOKETI_DEFAULT_APP_ENABLE_CLIENT_MESSAGES'], path: 'app.clientEvents', kind: 'bool' },
  { names: ['BROADCASTY_APP_ACTIVITY_TIMEOUT', 'REVERB_APP_ACTIVITY_TIMEOUT'], path: 'app.activityTimeout', kind: 'int' },
  { names: ['BROADCASTY_APP_ALLOWED_ORIGINS'], path: 'app.allowedOrigins', kind: 'json' },
  { names: ['BROADCASTY_APP_SUBSCRIPTION_COUNT'], path: 'app.subscriptionCount', kind: 'bool' },
  { names: ['BROADCASTY_APP_USER_AUTHENTICATION', 'SOKETI_DEFAULT_APP_USER_AUTHENTICATION'], path: 'app.userAuthentication', kind: 'bool' },
  { names: ['BROADCASTY_APP_ENABLED', 'SOKETI_DEFAULT_APP_ENABLED'], path: 'app.enabled', kind: 'bool' },
  { names: ['BROADCASTY_APP_HTTP_RATE_LIMIT'], path: 'app.httpRateLimit', kind: 'int' },
  { names: ['BROADCASTY_APP_MAX_PRESENCE_MEMBERS'], path: 'app.maxPresenceMembers', kind: 'int' },
  { names: ['BROADCASTY_APP_WEBHOOKS'], path: 'app.webhooks', kind: 'json' },
  // One history rule for the env app (docs/PROTOCOL.md §13.1); more rules need a config or apps file.
  { names: ['BROADCASTY_HISTORY_CHANNELS'], path: 'app.history.0.channels', kind: 'list', help: 'channels that keep history: exact names or patterns with *' },
  { names: ['BROADCASTY_HISTORY_MAX_EVENTS'], path: 'app.history.0.maxEvents', kind: 'int', requires: HISTORY_CHANNELS },
  { names: ['BROADCASTY_HISTORY_MAX_AGE'], path: 'app.history.0.maxAgeSeconds', kind: 'int', help: 'seconds', requires: HISTORY_CHANNELS },
  { names: ['BROADCASTY_HISTORY_MAX_BYTES'], path: 'app.history.0.maxBytes', kind: 'int', requires: HISTORY_CHANNELS },
  { names: ['BROADCASTY_HISTORY_PARTITIONS'], path: 'app.history.0.partitions', kind: 'int', requires: HISTORY_CHANNELS },
  // JWT, tenants and roles for the env app (docs/PROTOCOL.md §14); rules beyond a file need a config or apps file.
  { names: ['BROADCASTY_AUTH_MODE'], path: 'app.authMode', kind: 'string', help: 'hmac (default), jwt or both' },
  { names: ['BROADCASTY_JWT_PUBLIC_KEY'], path: 'app.jwt.publicKeys.0', kind: 'pem', help: 'one PEM public key or certificate; one line with \\n as Laravel .env holds it works' },
  { names: ['BROADCASTY_JWT_JWKS_URL'], path: 'app.jwt.jwksUrl', kind: 'string' },
  { names: ['BROADCASTY_JWT_JWKS_FILE'], path: 'app.jwt.jwksFile', kind: 'string' },
  { names: ['BROADCASTY_JWT_SECRET'], path: 'app.jwt.hmacSecret', kind: 'string', help: 'HS256/384/512 secret, at least 32 bytes' },
  { names: ['BROADCASTY_JWT_ALGORITHMS'], path: 'app.jwt.algorithms', kind: 'list' },
  { names: ['BROADCASTY_JWT_ISSUER'], path: 'app.jwt.issuer', kind: 'string' },
  { names: ['BROADCASTY_JWT_AUDIENCE'], path: 'app.jwt.audience', kind: 'string' },
  { names: ['BROADCASTY_JWT_CLOCK_SKEW'], path: 'app.jwt.clockSkewSeconds', kind: 'int', help: 'seconds' },
  { names: ['BROADCASTY_JWT_USER_INFO_CLAIM'], path: 'app.jwt.userInfoClaim', kind: 'string' },
  { names: ['BROADCASTY_JWT_SHARED_CHANNELS'], path: 'app.jwt.sharedChannels', kind: 'list', help: 'channels without a tenant segment every tenant may use: names or patterns with *' },
  { names: ['BROADCASTY_JWT_RULES_FILE'], path: 'app.jwt.rulesFile', kind: 'string' },
  { names: ['BROADCASTY_JWT_RESOLVER'], path: 'app.jwt.resolver', kind: 'string', help: 'JS module exporting authorize(tenant, channel, userId, roles, action)' },
  { names: ['BROADCASTY_PRESENCE_TTL'], path: 'app.jwt.presenceTtlSeconds', kind: 'int', help: 'seconds an HTTP-joined presence member lives without a heartbeat' },
  { names: ['BROADCASTY_JWT_REQUIRE_NONCE'], path: 'app.jwt.requireNonce', kind: 'bool' },
  // Push notifications for the env app (docs/PROTOCOL.md §16.1).
  { names: ['BROADCASTY_PUSH_VAPID_PUBLIC_KEY'], path: 'app.push.webpush.publicKey', kind: 'string', help: 'broadcasty keygen --vapid prints the pair' },
  { names: ['BROADCASTY_PUSH_VAPID_PRIVATE_KEY'], path: 'app.push.webpush.privateKey', kind: 'string' },
  { names: ['BROADCASTY_PUSH_VAPID_SUBJECT'], path: 'app.push.webpush.subject', kind: 'string', help: 'mailto: or https: contact for push services' },
  { names: ['BROADCASTY_PUSH_VAPID_ENDPOINT_HOSTS'], path: 'app.push.webpush.endpointHosts', kind: 'list', help: "push services a subscription's endpoint may name: hosts or *.suffix (default: the browsers')" },
  { names: ['BROADCASTY_PUSH_FCM_SERVICE_ACCOUNT'], path: 'app.push.fcm.serviceAccount', kind: 'string', help: 'the service-account JSON itself (FCM HTTP v1)' },
  { names: ['BROADCASTY_PUSH_FCM_SERVICE_ACCOUNT_FILE'], path: 'app.push.fcm.serviceAccountFile', kind: 'string' },
  { names: ['BROADCASTY_PUSH_APNS_KEY'], path: 'app.push.apns.key', kind: 'pem', help: 'the .p8 key; one line with \\n works' },
  { names: ['BROADCASTY_PUSH_APNS_KEY_FILE'], path: 'app.push.apns.keyFile', kind: 'string' },
  { names: ['BROADCASTY_PUSH_APNS_KEY_ID'], path: 'app.push.apns.keyId', kind: 'string' },
  { names: ['BROADCASTY_PUSH_APNS_TEAM_ID'], path: 'app.push.apns.teamId', kind: 'string' },
  { names: ['BROADCASTY_PUSH_APNS_TOPIC'], path: 'app.push.apns.topic', kind: 'string', help: "the app's bundle id" },
  { names: ['BROADCASTY_PUSH_ONESIGNAL_APP_ID'], path: 'app.push.onesignal.appId', kind: 'string' },
  { names: ['BROADCASTY_PUSH_ONESIGNAL_REST_API_KEY'], path: 'app.push.onesignal.restApiKey', kind: 'string' },
  { names: ['BROADCASTY_PUSH_BEAMS_SECRET_KEY'], path: 'app.push.beams.secretKey', kind: 'string', help: 'enables the Pusher Beams publish API' },
  { names: ['BROADCASTY_PUSH_USER_CHANNELS'], path: 'app.push.userChannels', kind: 'list', help: 'channels naming one user for the offline fallback, e.g. private-App.Models.User.{id}' },
  { names: ['BROADCASTY_PUSH_DEVICES'], path: 'pushDevices', kind: 'string', help: 'auto, memory, redis, postgres or mysql' },
  { names: ['BROADCASTY_PUSH_DEVICES_TABLE'], path: 'pushDevicesTable', kind: 'string' },
  // Console, admin API, audit log and traces (docs/PROTOCOL.md §17).
  { names: ['BROADCASTY_ENV', 'APP_ENV', 'NODE_ENV'], path: 'environment', kind: 'string', help: 'production keeps the console and admin API shut without an admin token' },
  { names: ['BROADCASTY_ADMIN_TOKEN'], path: 'adminToken', kind: 'string', help: 'bearer token for the admin API and console (every app)' },
  { names: ['BROADCASTY_ADMIN_TOKENS'], path: 'adminTokens', kind: 'json', help: 'JSON array of {token, apps: [app ids]}: tokens scoped to some apps' },
  { names: ['BROADCASTY_CONSOLE'], path: 'console', kind: 'bool' },
  { names: ['BROADCASTY_CONSOLE_PATH'], path: 'consolePath', kind: 'string' },
  { names: ['BROADCASTY_AUDIT'], path: 'audit.sink', kind: 'string', help: 'off, stdout, file, postgres or mysql' },
  { names: ['BROADCASTY_AUDIT_FILE'], path: 'audit.file', kind: 'string' },
  { names: ['BROADCASTY_AUDIT_MAX_FILE_BYTES'], path: 'audit.maxFileBytes', kind: 'int' },
  { names: ['BROADCASTY_AUDIT_TABLE'], path: 'audit.table', kind: 'string' },
  { names: ['BROADCASTY_AUDIT_RETENTION_DAYS'], path: 'audit.retentionDays', kind: 'int' },
  { names: ['BROADCASTY_AUDIT_PAYLOADS'], path: 'audit.payloads', kind: 'bool', help: 'record published data too (off: channel, event and size only)' },
  { names: ['BROADCASTY_AUDIT_FLUSH_MS'], path: 'audit.flushMs', kind: 'int', help: 'ms between audit batches' },
  { names: ['BROADCASTY_OTEL_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'], path: 'otel.endpoint', kind: 'string', help: 'OTLP/HTTP traces URL; unset = no tracing' },
  { names: ['BROADCASTY_OTEL_SERVICE_NAME', 'OTEL_SERVICE_NAME'], path: 'otel.serviceName', kind: 'string' },
  { names: ['BROADCASTY_OTEL_SAMPLE_RATIO'], path: 'otel.sampleRatio', kind: 'json', help: 'share of traces started here that are recorded, 0 to 1' },
  { names: ['BROADCASTY_MAX_CHANNELS_PER_CONNECTION'], path: 'maxChannelsPerConnection', kind: 'int' },
  { names: ['BROADCASTY_MAX_PENDING_FRAMES'], path: 'maxPendingFrames', kind: 'int' },
  { names: ['BROADCASTY_MAX_PENDING_BYTES'], path: 'maxPendingBytes', kind: 'int' },
  { names: ['BROADCASTY_MAX_MEMORY_BYTES'], path: 'maxMemoryBytes', kind: 'int' },
  { names: ['BROADCASTY_OUTAGE_PUBLISH'], path: 'outagePublish', kind: 'string' },
  { names: ['BROADCASTY_OUTAGE_QUEUE_MS'], path: 'outageQueueMs', kind: 'int' },
  { names: ['BROADCASTY_BUS_LOG_LENGTH'], path: 'busLogLength', kind: 'int' },
  { names: ['BROADCASTY_TRANSPORT'], path: 'transport', kind: 'string' },
  { names: ['BROADCASTY_FD_RESERVE'], path: 'fdReserve', kind: 'int' },
  { names: ['BROADCASTY_MAX_STREAM_BUFFER_BYTES'], path: 'maxStreamBufferBytes', kind: 'int' },
  { names: ['BROADCASTY_HTTP_PATH'], path: 'httpPath', kind: 'string', help: "pusher-js's httpPath for its xhr_streaming/xhr_polling fallbacks" },
  { names: ['BROADCASTY_HTTP_SESSION_HOST'], path: 'httpSessionHost', kind: 'string', help: 'host[:port] that pins a pusher-js HTTP session to this node' },
  { names: ['BROADCASTY_HTTP_HEARTBEAT'], path: 'httpHeartbeatSeconds', kind: 'int', help: 'seconds between heartbeats on idle SSE and xhr_streaming responses' },
  { names: ['BROADCASTY_POLL_TIMEOUT'], path: 'pollTimeoutSeconds', kind: 'int', help: 'seconds a long-poll waits for events' },
  { names: ['BROADCASTY_HTTP_SESSION_TIMEOUT'], path: 'httpSessionTimeoutSeconds', kind: 'int', help: 'seconds an HTTP session lives with no request receiving from it' },
  { names: ['BROADCASTY_MAX_HTTP_SESSIONS_PER_IP'], path: 'maxHttpSessionsPerIp', kind: 'int' },
];

export class ConfigError extends Error {}

/** Laravel's .env holds a PEM on one line with literal `\n`: turn those back into newlines. */
export function unescapePem(pem: string): string {
  return pem.replace(/\\r/g, '').replace(/\\n/g, '\n').trim();
}

function convert(name: string, raw: string, kind: Kind): unknown {
  switch (kind) {
    case 'string':
      return raw;
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`Invalid setting ${name}: got ${JSON.stringify(raw)}; expected an integer`);
      return Number(raw);
    }
    case 'bool': {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      throw new ConfigError(`Invalid setting ${name}: got ${JSON.stringify(raw)}; expected true or false`);
    }
    case 'pem':
      return unescapePem(raw);
    case 'list':
      return raw
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '');
    case 'json':
      try {
        return JSON.parse(raw);
      } catch {
        throw new ConfigError(`Invalid setting ${name}: got ${JSON.stringify(raw.slice(0, 60))}; expected JSON`);
      }
  }
}

export interface EnvOverlay {
  server: Record<string, unknown>;
  app: Record<string, unknown>;
  /** Which env name set each config path, for error messages. */
  sources: Map<string, string>;
}

export function readEnv(env: NodeJS.ProcessEnv): EnvOverlay {
  const overlay: EnvOverlay = { server: {}, app: {}, sources: new Map() };
  for (const setting of ENV_TABLE) {
    const name = setting.names.find((n) => env[n] !== undefined && env[n] !== '');
    if (name === undefined) continue;
    const value = convert(name, env[name]!, setting.kind);
    overlay.sources.set(setting.path, name);
    if (setting.path.startsWith('app.')) setPath(overlay.app, setting.path.slice(4), value);
    else setPath(overlay.server, setting.path, value);
  }
  for (const setting of ENV_TABLE) {
    const name = overlay.sources.get(setting.path);
    if (name === undefined || setting.requires === undefined || overlay.sources.has(setting.requires)) continue;
    const needed = ENV_TABLE.find((s) => s.path === setting.requires)!.names[0];
    throw new ConfigError(`Invalid setting ${name}: it refines ${needed}, which is not set`);
  }
  return overlay;
}

/** Sets `a.0.b` in `target`, creating the objects and arrays (numeric segments) on the way. */
function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node: Record<string, unknown> = target;
  parts.slice(0, -1).forEach((part, i) => {
    node[part] ??= /^\d+$/.test(parts[i + 1]) ? [] : {};
    node = node[part] as Record<string, unknown>;
  });
  node[parts[parts.length - 1]] = value;
}
