// The one schema for every setting. Each field has a safe default; a bad value fails at start
// with an error naming the setting, the value and what is allowed (see load.ts).
import { z } from 'zod';

const seconds = (min: number, max: number) => z.number().int().min(min).max(max);

export const webhookSchema = z
  .object({
    url: z.string().url(),
    eventTypes: z
      .array(z.enum(['channel_occupied', 'channel_vacated', 'member_added', 'member_removed', 'client_event', 'cache_miss', 'subscription_count']))
      .optional(),
    channelPrefix: z.string().optional(),
    channelSuffix: z.string().optional(),
    headers: z.record(z.string()).optional(),
  })
  .strict();

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
  })
  .strict();

export type AppConfig = z.infer<typeof appSchema>;
export type WebhookConfig = z.infer<typeof webhookSchema>;

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
    /** Grace time after SIGTERM before the process exits, ms. */
    shutdownGraceMs: z.number().int().min(0).default(1000),
    /** Redis URL for the clustered engine (redis://, rediss://); absent = in-memory engine. */
    redisUrl: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').optional(),
    /** Prefix of every Redis key and pub/sub channel, so deployments can share one Redis. */
    redisPrefix: z.string().min(1).regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits and _ . : - only').default('broadcasty'),
    /** Seconds after which a silent node's presence members and sockets are removed. */
    nodeTtl: seconds(2, 3600).default(30),
    /** Per-channel event history kept for replay (0 = off; sequence numbers are always assigned). */
    historyLength: z.number().int().min(0).max(100000).default(0),
    /** Processes sharing the port (SO_REUSEPORT); more than 1 requires redisUrl. */
    workers: z.number().int().min(1).max(64).default(1),
    /** Prometheus /metrics and /usage on their own port. */
    metrics: z.boolean().default(false),
    metricsHost: z.string().min(1).default('0.0.0.0'),
    metricsPort: z.number().int().min(0).max(65535).default(9601),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    apps: z.array(appSchema).min(1).default([{ id: 'app-id', key: 'app-key', secret: 'app-secret' } as AppConfig]),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.workers > 1 && config.redisUrl === undefined) {
      ctx.addIssue({ code: 'custom', path: ['workers'], message: 'more than 1 worker needs redisUrl (BROADCASTY_REDIS_URL): workers share state through Redis' });
    }
    if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['tlsCert'], message: 'tlsCert and tlsKey must be set together' });
    }
    for (const field of ['id', 'key'] as const) {
      const seen = new Set<string>();
      config.apps.forEach((app, i) => {
        if (seen.has(app[field])) ctx.addIssue({ code: 'custom', path: ['apps', i, field], message: `duplicate app ${field}` });
        seen.add(app[field]);
      });
    }
  });

export type ServerConfig = z.infer<typeof serverSchema>;
