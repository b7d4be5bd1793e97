// The Broadcasty client SDK's public types and the seams between its parts (README "Client SDK").
// Browser-safe: nothing here or in anything index.ts imports may import `node:*`.
import type { StreamPosition } from '../positions.js';

export type { StreamPosition } from '../positions.js';

export type TransportName = 'ws' | 'sse' | 'poll';
export type BackpressureMode = 'drop' | 'queue' | 'slow-start';
export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'offline' | 'closed';

export interface BroadcastyClientOptions {
  /** The server's HTTP base URL: `https://ws.example.com` or `http://127.0.0.1:6001/prefix`; the WebSocket URL is derived. */
  url: string;
  appKey: string;
  /**
   * Returns the JWT (docs/PROTOCOL.md §14.2), or null for an anonymous client (public channels
   * only). Called on every connect, after the server closes with 4203 (token expired) and when an
   * HTTP request answers 401. The token is never logged.
   */
  getToken?: () => string | null | Promise<string | null>;
  /** `auto` (default): WebSocket, then SSE, then long-polling, starting from the one that worked last. */
  transport?: 'auto' | TransportName;
  /** What happens when messages arrive faster than `onMessage` completes (default `queue`). */
  backpressure?: BackpressureMode;
  /** `queue`: messages held per subscription before the oldest are dropped (default 1000). `slow-start`: the largest batch (default 64). */
  maxQueuedMessages?: number;
  maxBatchSize?: number;
  /** Reconnect delays: exponential from minDelayMs to maxDelayMs with full jitter (defaults 500, 30000). */
  reconnect?: { minDelayMs?: number; maxDelayMs?: number };
  /** Publishes made offline or that failed retryably wait here (default: IndexedDB, else localStorage, else memory). */
  offline?: { store?: OfflineStore | 'auto' | 'memory' | 'none'; maxEntries?: number; dropPolicy?: 'oldest' | 'newest' };
  /** Where replies to this client's `request()` arrive; default derived from the token: `private-tenant.{tid}.replies.{sub}` or `private-replies.{sub}`. */
  replyChannel?: string;
  /** Per HTTP attempt of publish/request, ms (default 10000). */
  timeoutMs?: number;
  /** For runtimes without a global WebSocket (Node 20): e.g. the `ws` package's class. */
  WebSocket?: WebSocketConstructor;
  fetch?: typeof fetch;
  /** @internal Tests shorten these: SSE without a byte (default 37500 ms, 2.5 heartbeats) and one poll request (default 35000 ms) before the connection counts as lost. */
  watchdog?: { sseIdleMs?: number; pollTimeoutMs?: number };
  /** Diagnostics; never receives a token. */
  log?: (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

export interface WebSocketConstructor {
  new (url: string): WebSocketLike;
}

/** The part of the WHATWG WebSocket the SDK uses (browsers, Node 22+, the `ws` package). */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** One event as the app's handlers get it. */
export interface Message<T = unknown> {
  channel: string;
  event: string;
  /** `data` JSON-decoded when it is JSON, else the string. */
  data: T;
  /** On history channels (docs/PROTOCOL.md §13.2). */
  position?: StreamPosition & { partition?: number };
  correlationId?: string;
  meta?: Record<string, unknown>;
  /** The sender of a client event in a presence channel. */
  userId?: string;
}

export type ErrorCode =
  /** The server has no Broadcasty extension for this (a plain Pusher server, or the app is in hmac mode). */
  | 'unsupported'
  | 'unauthorized'
  | 'forbidden'
  | 'timeout'
  | 'rate_limited'
  /** Events after the client's position are gone (trimmed, epoch changed): reload state. */
  | 'resume_failed'
  /** The offline queue was full and the policy dropped this publish. */
  | 'dropped'
  | 'closed'
  | 'bad_request'
  | 'server_error'
  | 'network';

export class BroadcastyError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'BroadcastyError';
  }

  /** A 429/503 publish answer's Retry-After, when the server sent one. */
  retryAfterMs?: number;
}

export interface SubscribeOptions<T = unknown> {
  channel: string;
  /** Resume from this position (history channels): events after it are delivered first, then live ones. A bare number is an offset in the stream's current epoch. */
  fromSequence?: number | StreamPosition;
  /** May return a promise: backpressure counts a message as handled when it settles. */
  onMessage: (message: Message<T>) => void | Promise<void>;
  /** `slow-start` only: receives each batch instead of onMessage per message. */
  onBatch?: (messages: Message<T>[]) => void | Promise<void>;
  /** Refused subscription, resume_failed (code `resume_failed`, with `position` of where it continues). */
  onError?: (error: BroadcastyError & { position?: StreamPosition }) => void;
}

export interface Subscription {
  readonly channel: string;
  close(): void;
  stats(): BackpressureStats;
}

export interface PublishOptions<T = unknown> {
  channel: string;
  event: string;
  payload: T;
  meta?: Record<string, unknown>;
  correlationId?: string;
  partitionKey?: string;
  /** Per HTTP attempt, ms. */
  timeoutMs?: number;
}

export interface PublishResult {
  /** The stream position on a history channel. */
  position?: StreamPosition & { partition?: number };
}

export interface RequestOptions<T = unknown> {
  channel: string;
  /** The event the responder listens for (default `request`). */
  event?: string;
  payload: T;
  /** Default 10000. */
  timeoutMs?: number;
}

export interface RespondOptions<Req = unknown, Res = unknown> {
  channel: string;
  event?: string;
  /** Its result is published to the requester's reply channel as event `reply` with the request's correlationId. */
  handler: (request: Message<Req>) => Res | Promise<Res>;
}

export interface PresenceMember {
  id: string;
  info: unknown;
}

export interface Presence {
  readonly channel: string;
  /** Current members by user id. */
  readonly members: ReadonlyMap<string, unknown>;
  on(event: 'members', handler: (members: ReadonlyMap<string, unknown>) => void): () => void;
  on(event: 'join' | 'leave', handler: (member: PresenceMember) => void): () => void;
  close(): void;
}

export interface BackpressureStats {
  received: number;
  delivered: number;
  dropped: number;
  /** Waiting now. */
  queued: number;
  /** slow-start: the batch size it reached. */
  batchSize: number;
}

export interface ClientEvents {
  state: (state: ConnectionState) => void;
  transport: (transport: TransportName) => void;
  /** A publish the offline queue dropped (policy), with why. */
  dropped: (entry: QueuedPublish, error: BroadcastyError) => void;
  error: (error: BroadcastyError) => void;
}

// ---- seams between the parts (connection/subscriptions ↔ outbox, stores, backpressure, requests) ----

/** One publish as the offline queue keeps it; `id` is its idempotency key, so a resend never duplicates. */
export interface QueuedPublish {
  id: string;
  channel: string;
  event: string;
  /** `data` as sent: the payload JSON-encoded once. */
  data: string;
  meta?: Record<string, unknown>;
  correlationId?: string;
  partitionKey?: string;
  queuedAt: number;
  /** Whose publish it is: the token's tid and sub (absent for an anonymous client); only a client with the same subject sends it. */
  subject?: string;
}

/** Where queued publishes survive a reload or restart. Calls are serialized by the outbox. */
export interface OfflineStore {
  /** Everything stored, oldest first. */
  load(): Promise<QueuedPublish[]>;
  add(entry: QueuedPublish): Promise<void>;
  remove(id: string): Promise<void>;
  clear(): Promise<void>;
}

/** What the outbox needs from the client: a token (fresh after a 401), and whether the client is online. */
export interface OutboxHost {
  token(refresh: boolean): Promise<string | null>;
  readonly online: boolean;
}

/** Delivers one subscription's messages to its handlers under the chosen backpressure mode. */
export interface Delivery<T = unknown> {
  push(message: Message<T>): void;
  stats(): BackpressureStats;
  close(): void;
}
