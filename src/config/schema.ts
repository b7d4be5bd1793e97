// The one schema for every setting. Each field has a safe default; a bad value fails at start
// with an error naming the setting, the value and what is allowed (see load.ts).
import { accessSync, constants } from 'node:fs';
import { z } from 'zod';
import { WEBHOOK_EVENT_NAMES } from '../../protocol/webhooks.js';
import { redisUrlProblem } from '../redis/url.js';

const seconds = (min: number, max: number) => z.number().int().min(min).max(max);

export const webhookSchema = z
  .object({
    url: z.string().url(),
    eventTypes: z.array(z.enum(WEBHOOK_EVENT_NAMES)).optional(),
    channelPrefix: z.string().optional(),
    channelSuffix: z.string().optional(),
    /**
     * Channels never sent to this target. The PHP SDK's webhook validation throws on
     * `private-encrypted-` events, and `channelPrefix: "private-"` cannot leave them out.
     */
    excludeChannelPrefix: z.union([z.string().min(1), z.array(z.string().min(1))]).optional(),
    headers: z.record(z.string()).optional(),
  })
  .strict();

/**
 * One history rule of an app: the channels it covers keep their events (docs/PROTOCOL.md §13).
 * Retention is per channel stream (per partition when partitioned); the oldest events go first
 * once any limit is passed.
 */
export const historyRuleSchema = z
  .object({
    /** Exact names or patterns where `*` matches any run of characters (`private-orders.*`, `presence-*`). */
    channels: z.array(z.string().min(1).max(200)).min(1),
    maxEvents: z.number().int().min(1).max(100_000).default(100),
    maxAgeSeconds: seconds(1, 86_400).default(3600),
    maxBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
    /** Independent streams per channel, chosen by the publish's partition key; 1 = unpartitioned. */
    partitions: z.number().int().min(1).max(64).default(1),
  })
  .strict();

/** Algorithms a JWT may be signed with (docs/PROTOCOL.md §14.2); `none` is never one of them. */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA', 'HS256', 'HS384', 'HS512'] as const;

/** What a JWT principal does to a channel; RBAC rules name these (docs/PROTOCOL.md §14.4). */
export const POLICY_ACTIONS = ['subscribe', 'publish', 'client-event', 'presence', 'history', 'push'] as const;

/**
 * One RBAC rule: the first rule whose channel pattern and action match decides. `{sub}` and
 * `{tid}` in the pattern stand for the principal's claims, `*` for any run of characters; role
 * `*` is any principal.
 */
export const policyRuleSchema = z
  .object({
    channel: z.string().min(1).max(200),
    actions: z.array(z.union([z.enum(POLICY_ACTIONS), z.literal('*')])).min(1),
    roles: z.array(z.string().min(1)).min(1),
    effect: z.enum(['allow', 'deny']).default('allow'),
  })
  .strict();

/** Requests per second per key; null = unlimited. Cluster-wide with Redis. */
const perSecond = z.number().int().positive().nullable();

/** JWT verification, tenancy and RBAC of an app (docs/PROTOCOL.md §14); used when authMode is jwt or both. */
export const jwtSchema = z
  .object({
    /** PEM public keys (SPKI or X.509 certificate); each is used only with its own algorithm family. */
    publicKeys: z.array(z.string().min(1)).default([]),
    /** A JWKS file, re-read when a token names an unknown `kid`. */
    jwksFile: z.string().min(1).optional(),
    /** A JWKS URL (https, or http for local development), cached and refetched on an unknown `kid`. */
    jwksUrl: z.string().url().optional(),
    /** A JWKS URL is refetched for an unknown `kid` at most once per this many seconds. */
    jwksRefetchSeconds: seconds(0, 3600).default(30),
    /** Shared secret for HS256/384/512 tokens; at least 32 bytes. */
    hmacSecret: z.string().min(32).optional(),
    algorithms: z.array(z.enum(JWT_ALGORITHMS)).min(1).default([...JWT_ALGORITHMS]),
    issuer: z.string().min(1).optional(),
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    requiredClaims: z.array(z.string().min(1)).default(['sub', 'tid', 'roles', 'iat', 'exp']),
    clockSkewSeconds: seconds(0, 600).default(30),
    /** The claim whose value becomes a presence member's user_info (absent claim: null). */
    userInfoClaim: z.string().min(1).default('user_info'),
    /** Channels without a tenant segment that every tenant may use, by the rules (patterns with `*`). */
    sharedChannels: z.array(z.string().min(1).max(200)).default([]),
    /** RBAC rules; empty = the defaults of docs/PROTOCOL.md §14.4. */
    rules: z.array(policyRuleSchema).default([]),
    /** A JSON file holding `{"rules": [...]}`, read at start; used instead of `rules`. */
    rulesFile: z.string().min(1).optional(),
    /** A JS module exporting authorize(tenant, channel, userId, roles, action) and optionally partitions(tenant, channel). */
    resolver: z.string().min(1).optional(),
    /** Seconds an HTTP-joined presence member stays without a heartbeat. */
    presenceTtlSeconds: seconds(5, 3600).default(60),
    /** POST /broadcasty/* requests must carry X-Broadcasty-Nonce and X-Broadcasty-Timestamp. */
    requireNonce: z.boolean().default(true),
    rateLimits: z
      .object({
        perIp: perSecond.default(100),
        perUser: perSecond.default(50),
        perChannel: perSecond.default(200),
      })
      .strict()
      .default({}),
  })
  .strict();

const httpUrl = z.string().url().regex(/^https?:\/\//, 'must be an http:// or https:// URL');

/** The browsers' push services: Chrome and Chromium browsers (FCM; android.googleapis.com in old subscriptions), Firefox, Edge, Safari. */
const WEBPUSH_ENDPOINT_HOSTS = ['fcm.googleapis.com', 'android.googleapis.com', 'updates.push.services.mozilla.com', '*.notify.windows.com', 'web.push.apple.com', '*.push.apple.com'] as const;
/** A DNS name, optionally `*.` before it; the last label starts with a letter, so an IPv4 address is none. */
const ENDPOINT_HOST = /^(\*\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)*[a-z]([a-z0-9-]*[a-z0-9])?$/;

/** Push providers and the offline fallback (docs/PROTOCOL.md §16.1). */
export const pushSchema = z
  .object({
    webpush: z
      .object({
        publicKey: z.string().regex(/^[A-Za-z0-9_-]{87}$/, 'expected a base64url VAPID public key (65 bytes; broadcasty keygen --vapid)'),
        privateKey: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'expected a base64url VAPID private key (32 bytes; broadcasty keygen --vapid)'),
        subject: z.string().regex(/^(mailto:|https:\/\/)/, 'expected a mailto: address or an https:// URL'),
        /**
         * Hosts a subscription's endpoint may name (`*.suffix` for any name under it): the server
         * POSTs to whatever a registration gives, so only push services are accepted.
         */
        endpointHosts: z
          .array(z.string().toLowerCase().regex(ENDPOINT_HOST, 'expected a host name or *.suffix (no IP addresses, no port)'))
          .min(1)
          .default([...WEBPUSH_ENDPOINT_HOSTS]),
      })
      .strict()
      .optional(),
    fcm: z
      .object({ serviceAccount: z.string().min(1).optional(), serviceAccountFile: z.string().min(1).optional(), baseUrl: httpUrl.default('https://fcm.googleapis.com'), tokenUrl: httpUrl.optional() })
      .strict()
      .optional(),
    apns: z
      .object({
        key: z.string().min(1).optional(),
        keyFile: z.string().min(1).optional(),
        keyId: z.string().regex(/^[A-Z0-9]{10}$/, 'expected the 10-character key id'),
        teamId: z.string().regex(/^[A-Z0-9]{10}$/, 'expected the 10-character team id'),
        topic: z.string().min(1),
        baseUrl: httpUrl.default('https://api.push.apple.com'),
        sandboxBaseUrl: httpUrl.default('https://api.sandbox.push.apple.com'),
      })
      .strict()
      .optional(),
    onesignal: z
      .object({
        appId: z.string().uuid('expected the OneSignal app id (a UUID)'),
        restApiKey: z.string().min(1),
        baseUrl: httpUrl.default('https://api.onesignal.com'),
      })
      .strict()
      .optional(),
    beams: z.object({ secretKey: z.string().min(16, 'at least 16 characters') }).strict().optional(),
    userChannels: z.array(z.string().regex(/^[^{}]*\{id\}[^{}]*$/, 'expected a channel pattern with one {id}')).default([]),
    maxDevicesPerUser: z.number().int().min(1).max(1000).default(20),
    ttlSeconds: seconds(0, 2_419_200).default(86_400),
  })
  .strict()
  .superRefine((push, ctx) => {
    for (const [provider, inline, file] of [
      ['fcm', 'serviceAccount', 'serviceAccountFile'],
      ['apns', 'key', 'keyFile'],
    ] as const) {
      // Exactly one of the inline value and the file.
      const settings = push[provider] as Record<string, unknown> | undefined;
      if (settings !== undefined && (settings[inline] === undefined) === (settings[file] === undefined)) {
        ctx.addIssue({ code: 'custom', path: [provider], message: `set exactly one of ${provider}.${inline} and ${provider}.${file}` });
      }
    }
  });

export const appSchema = z
  .object({
    id: z.string().min(1),
    key: z.string().min(1),
    secret: z.string().min(1),
    enabled: z.boolean().default(true),
    maxConnections: z.number().int().positive().nullable().default(null),
    clientEvents: z.boolean().default(true),
    clientEventRateLimit: z.number().int().positive().default(10),
    /** HTTP API requests per second for this app on one node; over it: 429 with Retry-After. */
    httpRateLimit: z.number().int().positive().nullable().default(null),
    maxPresenceMembers: z.number().int().positive().default(100),
    maxPresenceUserInfoKb: z.number().positive().default(1),
    maxEventPayloadKb: z.number().positive().default(10),
    maxChannelNameLength: z.number().int().min(1).max(200).default(164),
    activityTimeout: seconds(1, 3600).default(120),
    pongTimeout: seconds(1, 600).default(30),
    allowedOrigins: z.array(z.string()).default(['*']),
    subscriptionCount: z.boolean().default(false),
    userAuthentication: z.boolean().default(false),
    userAuthenticationTimeout: seconds(1, 3600).default(30),
    tlsOnly: z.boolean().default(false),
    subscriptionErrorFrames: z.boolean().default(true),
    watchlist: z.boolean().default(true),
    cacheTtl: seconds(1, 86400).default(1800),
    webhooks: z.array(webhookSchema).default([]),
    /** Channels that keep history and carry stream positions; the first matching rule applies. Empty = off. */
    history: z.array(historyRuleSchema).default([]),
    /** How clients prove who they are: Pusher HMAC signatures (default), JWTs, or either (docs/PROTOCOL.md §14.1). */
    authMode: z.enum(['hmac', 'jwt', 'both']).default('hmac'),
    jwt: jwtSchema.default({}),
    /** Push notifications (docs/PROTOCOL.md §16); absent = off, the push endpoints answer 404. */
    push: pushSchema.optional(),
  })
  .strict()
  .superRefine((app, ctx) => {
    if (app.authMode === 'hmac') return;
    const { publicKeys, jwksFile, jwksUrl, hmacSecret } = app.jwt;
    if (publicKeys.length === 0 && jwksFile === undefined && jwksUrl === undefined && hmacSecret === undefined) {
      ctx.addIssue({ code: 'custom', path: ['jwt'], message: `authMode "${app.authMode}" needs a key: jwt.publicKeys, jwt.jwksFile, jwt.jwksUrl or jwt.hmacSecret` });
    }
  });

export type HistoryRule = z.infer<typeof historyRuleSchema>;
export type JwtConfig = z.infer<typeof jwtSchema>;
export type PolicyRule = z.infer<typeof policyRuleSchema>;
export type PolicyAction = (typeof POLICY_ACTIONS)[number];
export type AppConfig = z.infer<typeof appSchema>;
export type WebhookConfig = z.infer<typeof webhookSchema>;
export type PushConfig = z.infer<typeof pushSchema>;

/** Two apps with one id or key would make lookups ambiguous; shared by config and the apps file. */
function refuseDuplicateApps(apps: AppConfig[], ctx: z.RefinementCtx): void {
  for (const field of ['id', 'key'] as const) {
    const seen = new Set<string>();
    apps.forEach((app, i) => {
      if (seen.has(app[field])) ctx.addIssue({ code: 'custom', path: ['apps', i, field], message: `duplicate app ${field}` });
      seen.add(app[field]);
    });
  }
}

/** The apps file of the `json` registry: `{"apps": [...]}`, each app exactly as in config. */
export const appsFileSchema = z
  .object({ apps: z.array(appSchema) })
  .strict()
  .superRefine((file, ctx) => refuseDuplicateApps(file.apps, ctx));

/** A table name, optionally schema-qualified; quoted when used, so only plain identifiers pass. */
const sqlTableName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/, 'expected a table name (letters, digits, _; optionally schema.table)');

/** Why a file cannot be read, checked at start so TLS never fails later as "App construction failed". */
function unreadable(file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  try {
    accessSync(file, constants.R_OK);
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
  }
}

export const serverSchema = z
  .object({
    host: z.string().min(1).default('0.0.0.0'),
    port: z.number().int().min(0).max(65535).default(6001),
    pathPrefix: z
      .string()
      .regex(/^(\/[^/?#\s]+)*$/, 'must be empty or start with "/" and not end with "/"')
      .default(''),
    tlsCert: z.string().optional(),
    tlsKey: z.string().optional(),
    /** Bytes buffered for one socket before it is closed as a slow consumer (4100). */
    maxBackpressureBytes: z.number().int().positive().default(4 * 1024 * 1024),
    /**
     * Sockets this process accepts before refusing new ones with 4100 (pusher-js retries after
     * 1 s). null = the process's open-file limit minus a reserve for Redis, HTTP and files.
     */
    maxSocketsPerProcess: z.number().int().positive().nullable().default(null),
    /** Largest inbound WebSocket message, bytes. */
    maxMessageBytes: z.number().int().positive().default(100 * 1024),
    /** Largest HTTP request body, bytes (a whole batch of 10 events must fit). */
    maxRequestBytes: z.number().int().positive().default(1024 * 1024),
    /**
     * After SIGTERM: /ready answers 503 at once, sockets are closed with 4200 spread over half of
     * this time (so reconnects do not land on the other nodes all at once), then the process
     * stops what is left and exits within it, ms.
     */
    shutdownGraceMs: z.number().int().min(0).max(600_000).default(3000),
    /** Redis for the clustered engine (redis://, rediss://, redis+sentinel://, redis+cluster://); absent = in-memory engine. */
    redisUrl: z
      .string()
      .superRefine((url, ctx) => {
        const problem = redisUrlProblem(url);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
    /** Prefix of every Redis key and pub/sub channel, so deployments can share one Redis. */
    redisPrefix: z.string().min(1).regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits and _ . : - only').default('broadcasty'),
    /** Seconds after which a silent node's presence members and sockets are removed. */
    nodeTtl: seconds(2, 3600).default(10),
    /** How long an HTTP publish's idempotency key is remembered: a repeat within it delivers nothing. */
    idempotencyWindowSeconds: seconds(1, 86_400).default(300),
    /** Processes sharing the port (SO_REUSEPORT); more than 1 requires redisUrl. */
    workers: z.number().int().min(1).max(64).default(1),
    /** Prometheus /metrics and /usage on their own port. */
    metrics: z.boolean().default(false),
    metricsHost: z.string().min(1).default('0.0.0.0'),
    metricsPort: z.number().int().min(0).max(65535).default(9601),
    /** Webhook batching window, ms: events of one target and channel lane within it share a POST (0 = one event per POST). */
    webhookBatchMs: z.number().int().min(0).max(60_000).default(0),
    /** A webhook POST without a response within this many ms counts as failed and is retried. */
    webhookTimeoutMs: z.number().int().min(100).max(60_000).default(4000),
    /** Failed webhooks are retried with backoff until this many ms after they were created, then dropped. */
    webhookRetryWindowMs: z.number().int().min(0).max(86_400_000).default(300_000),
    /** channel_vacated / member_removed wait this long, ms, and are cancelled by a rejoin meanwhile. */
    webhookDelayMs: z.number().int().min(0).max(60_000).default(3000),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** One readable log line per connect, close, subscribe, signin, client event, publish and webhook (sets logLevel debug). */
    debug: z.boolean().default(false),
    /** Used by the `static` registry only; the other registries read apps from their source. */
    apps: z.array(appSchema).min(1).default([{ id: 'app-id', key: 'app-key', secret: 'app-secret' } as AppConfig]),
    /** Where apps come from: `apps` above, a JSON file (reloaded on change), or a SQL table. */
    appRegistry: z.enum(['static', 'json', 'postgres', 'mysql']).default('static'),
    /** The `json` registry's file: `{"apps": [...]}`. */
    appsFile: z.string().min(1).optional(),
    /** The `postgres` (postgres://) or `mysql` (mysql:// or mariadb://) registry's database. */
    databaseUrl: z.string().regex(/^(postgres|postgresql|mysql|mariadb):\/\//, 'must start with postgres://, postgresql://, mysql:// or mariadb://').optional(),
    /** The SQL registry's table (create it with `broadcasty migrate`). */
    appsTable: sqlTableName.default('broadcasty_apps'),
    /** SQL registry: how long a looked-up app is served before it is re-read in the background, ms. */
    appsCacheTtlMs: z.number().int().min(0).max(3_600_000).default(5000),
    /** Channels one socket may be subscribed to; one more is refused in-band (the socket stays open). */
    maxChannelsPerConnection: z.number().int().positive().default(1000),
    /** Frames a socket may send before its handshake completes (app lookup pending); more → 4100. */
    maxPendingFrames: z.number().int().min(1).default(32),
    /** Size of such frames together (string length, about their bytes); more → 4100. */
    maxPendingBytes: z.number().int().min(1).default(256 * 1024),
    /** Process RSS, bytes, above which new sockets are refused with 4100 (null = no limit). */
    maxMemoryBytes: z.number().int().positive().nullable().default(null),
    /**
     * An HTTP API event while Redis is out of reach: `reject` answers 503 with Retry-After (the
     * publisher retries), `queue` answers 200, delivers on this node and sends it to the other
     * nodes, in order, once Redis is back.
     */
    outagePublish: z.enum(['reject', 'queue']).default('reject'),
    /** `queue`: an event still queued this many ms after it was published is dropped, counted and logged. */
    outageQueueMs: z.number().int().min(1000).max(3_600_000).default(60_000),
    /** Fan-out messages kept per app in Redis, so a node whose link dropped for a moment catches up on what it missed (0 = off). */
    busLogLength: z.number().int().min(0).max(1_000_000).default(1000),
    /** `auto`: native uWebSockets.js when a build loads on this host, else Node http + ws; `uws`/`node` force one. */
    transport: z.enum(['auto', 'uws', 'node']).default('auto'),
    /** File descriptors kept free below the open-file limit: past it HTTP gets 503, sockets 4100, and accepting pauses. */
    fdReserve: z.number().int().min(8).max(65536).default(256),
    /**
     * Bytes one streamed HTTP response (SSE, xhr_streaming) may have waiting for a client that
     * does not read; past it the stream is closed instead of buffered without bound.
     */
    maxStreamBufferBytes: z.number().int().min(16 * 1024).default(1024 * 1024),
    /**
     * Where pusher-js's HTTP fallbacks (xhr_streaming, xhr_polling) reach this server: the value of
     * pusher-js's `httpPath` option, whose default is `/pusher` (docs/PROTOCOL.md §7.2).
     */
    httpPath: z
      .string()
      .regex(/^(\/[^/?#\s]+)+$/, 'must start with "/", name at least one path segment and not end with "/"')
      .default('/pusher'),
    /**
     * `host` or `host:port` that this node's pusher-js HTTP sessions continue on, sent in their open
     * frame: every later request of a session then reaches this node even behind a load balancer
     * that spreads requests (docs/PROTOCOL.md §7.2). Absent: the host the client first used.
     */
    httpSessionHost: z
      .string()
      .regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, 'must be a host name or address, optionally with :port, without a scheme or path')
      .optional(),
    /** Seconds between heartbeats on an idle SSE or xhr_streaming response, so proxies keep it open. */
    httpHeartbeatSeconds: seconds(1, 300).default(15),
    /** Seconds a long-poll (xhr_polling, /broadcasty/poll) is held open waiting for events. */
    pollTimeoutSeconds: seconds(1, 120).default(25),
    /**
     * Seconds an HTTP session (pusher-js fallback, poll) lives with no request receiving from it;
     * then it closes like a dropped socket (members leave, webhooks fire).
     */
    httpSessionTimeoutSeconds: seconds(2, 600).default(15),
    /** HTTP sessions (pusher-js fallbacks, SSE, poll) one client IP address may hold on this process; 0 = no limit. */
    maxHttpSessionsPerIp: z.number().int().min(0).default(100),
    /**
     * `production` (also from APP_ENV or NODE_ENV) keeps the console and the admin API shut unless
     * adminToken is set; any other value lets them answer loopback requests without one.
     */
    environment: z.string().min(1).default('development'),
    /** Bearer token for the admin API and the console, every app (docs/PROTOCOL.md §17). */
    adminToken: z.string().min(16, 'must be at least 16 characters (broadcasty keygen prints one)').optional(),
    /** Bearer tokens that see only the listed app ids in the admin API and the console. */
    adminTokens: z
      .array(
        z
          .object({
            token: z.string().min(16, 'must be at least 16 characters (broadcasty keygen prints one)'),
            apps: z.array(z.string().min(1)).min(1),
          })
          .strict(),
      )
      .default([]),
    /** Serve the debug console (the admin API answers either way). */
    console: z.boolean().default(true),
    /** Where the console is served. */
    consolePath: z
      .string()
      .regex(/^(\/[^/?#\s]+)+$/, 'must start with "/", name at least one path segment and not end with "/"')
      .default('/console'),
    /** The audit log (docs/PROTOCOL.md §17.4): who published, joined, was refused, used the admin API. */
    audit: z
      .object({
        /** `off`, JSON lines to `stdout` or to `file`, or rows in the SQL table on databaseUrl. */
        sink: z.enum(['off', 'stdout', 'file', 'postgres', 'mysql']).default('off'),
        /** The JSON-lines file (sink `file`); rotated past maxFileBytes. */
        file: z.string().min(1).optional(),
        maxFileBytes: z.number().int().min(4096).default(100 * 1024 * 1024),
        /** The SQL table (`broadcasty migrate` creates it). */
        table: sqlTableName.default('broadcasty_audit_logs'),
        /** Entries (SQL rows, rotated files) older than this many days are deleted. */
        retentionDays: z.number().int().min(1).max(3650).default(30),
        /** Also record the published data (off: only channel, event and size). */
        payloads: z.boolean().default(false),
        /** Entries are written in batches at most this many ms apart. */
        flushMs: z.number().int().min(10).max(60_000).default(1000),
      })
      .strict()
      .default({}),
    /** OpenTelemetry traces over OTLP/HTTP (docs/PROTOCOL.md §17.5); off without an endpoint. */
    otel: z
      .object({
        /** The collector's traces URL, e.g. http://collector:4318/v1/traces. */
        endpoint: httpUrl.optional(),
        serviceName: z.string().min(1).default('broadcasty'),
        /** Fraction of publishes traced, 0–1. */
        sampleRatio: z.number().min(0).max(1).default(1),
      })
      .strict()
      .default({}),
    /** Where push devices live (docs/PROTOCOL.md §16.1): `auto` = Redis when redisUrl is set, else memory. */
    pushDevices: z.enum(['auto', 'memory', 'redis', 'postgres', 'mysql']).default('auto'),
    /** The SQL device table (`broadcasty migrate` creates it). */
    pushDevicesTable: sqlTableName.default('broadcasty_push_devices'),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.workers > 1 && config.redisUrl === undefined) {
      ctx.addIssue({ code: 'custom', path: ['workers'], message: 'more than 1 worker needs redisUrl (BROADCASTY_REDIS_URL): workers share state through Redis' });
    }
    if ((config.pushDevices === 'postgres' || config.pushDevices === 'mysql') && config.databaseUrl === undefined) {
      ctx.addIssue({ code: 'custom', path: ['pushDevices'], message: `pushDevices "${config.pushDevices}" needs databaseUrl (BROADCASTY_DATABASE_URL)` });
    }
    if (config.pushDevices === 'redis' && config.redisUrl === undefined) {
      ctx.addIssue({ code: 'custom', path: ['pushDevices'], message: 'pushDevices "redis" needs redisUrl (BROADCASTY_REDIS_URL)' });
    }
    if (config.audit.sink === 'file' && config.audit.file === undefined) {
      ctx.addIssue({ code: 'custom', path: ['audit', 'file'], message: 'audit sink "file" needs audit.file (BROADCASTY_AUDIT_FILE): the JSON-lines file to write' });
    }
    if ((config.audit.sink === 'postgres' || config.audit.sink === 'mysql') && config.databaseUrl === undefined) {
      ctx.addIssue({ code: 'custom', path: ['audit', 'sink'], message: `audit sink "${config.audit.sink}" needs databaseUrl (BROADCASTY_DATABASE_URL)` });
    }
    if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['tlsCert'], message: 'tlsCert and tlsKey must be set together' });
    }
    for (const field of ['tlsCert', 'tlsKey'] as const) {
      const problem = unreadable(config[field]);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', path: [field], message: `expected a readable PEM file (${problem})` });
    }
    refuseDuplicateApps(config.apps, ctx);
    if (config.appRegistry === 'json' && config.appsFile === undefined) {
      ctx.addIssue({ code: 'custom', path: ['appsFile'], message: 'appRegistry "json" needs appsFile (BROADCASTY_APPS_FILE): the file holding {"apps": [...]}' });
    }
    if (config.appRegistry === 'postgres' || config.appRegistry === 'mysql') {
      const schemes = config.appRegistry === 'postgres' ? ['postgres:', 'postgresql:'] : ['mysql:', 'mariadb:'];
      if (config.databaseUrl === undefined || !schemes.some((s) => config.databaseUrl!.startsWith(s))) {
        ctx.addIssue({
          code: 'custom',
          path: ['databaseUrl'],
          message: `appRegistry "${config.appRegistry}" needs databaseUrl (BROADCASTY_DATABASE_URL) starting with ${schemes.map((s) => `${s}//`).join(' or ')}`,
        });
      }
    }
  });

export type ServerConfig = z.infer<typeof serverSchema>;
