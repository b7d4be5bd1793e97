// Messages between the orchestrator (pool.ts) and load-generator processes (worker.ts).
// Per-message work stays inside the workers; only counters and histograms cross IPC.
import type { LoadResult, LoadSpec, TriggerTarget } from './http-client.js';
import type { HistogramData } from './stats.js';

export type ChannelKind = 'public' | 'private' | 'presence';

/**
 * What carries a client's frames: a WebSocket, an SSE stream (`GET /broadcasty/sse`, PROTOCOL
 * §15.2) or a pusher-js xhr_streaming session (§7.2).
 */
export const TRANSPORTS = ['ws', 'sse', 'xhr'] as const;
export type Transport = (typeof TRANSPORTS)[number];

/**
 * Which channel connection #index joins: `${base}-${floor(index / perChannel)}`, or just
 * `base` for everyone when perChannel is 0. On presence channels the first `stable`
 * positions of each channel stay put and the rest are churners (presence scenario).
 */
export interface ChannelPlan {
  base: string;
  kind: ChannelKind;
  perChannel: number;
  stable?: number;
  /** Public channels: the `resume` position every subscribe carries (docs/PROTOCOL.md §13.3). */
  resume?: { epoch: string; offset: number };
}

export interface ConnectCommand {
  type: 'connect';
  transport: Transport;
  /** ws: the WebSocket URL; sse: the stream URL without `channel`; xhr: pusher-js's `{httpPath}/app/{key}?…` base. */
  url: string;
  key: string;
  secret: string;
  /** Global index of the first connection in this process; indices are unique across workers. */
  from: number;
  count: number;
  /** Source addresses; connection #index binds addresses[index % length]. */
  addresses: string[];
  concurrency: number;
  timeoutMs: number;
  plan?: ChannelPlan;
}

export type Command =
  | ConnectCommand
  | { type: 'reset' }
  | { type: 'stats' }
  | { type: 'trigger-load'; target: TriggerTarget; spec: LoadSpec }
  | { type: 'whisper'; ratePerConn: number; durationMs: number }
  | { type: 'churn'; durationMs: number }
  | { type: 'close' };

export interface ConnectResult {
  attempted: number;
  established: number;
  subscribed: number;
  errors: string[];
  connect: HistogramData;
  subscribe: HistogramData;
}

/** Counters per channel name, summed across workers by the orchestrator. */
export interface ChannelStats {
  members: number;
  /** Presence: members that stay subscribed and count member events. */
  stable: number;
  received: number;
  sent: number;
  rateLimited: number;
  joins: number;
  leaves: number;
  memberAdded: number;
  memberRemoved: number;
}

export interface StatsResult {
  channels: Record<string, ChannelStats>;
  latency: HistogramData;
  joinLatency: HistogramData;
  open: number;
  closed: number;
  closeCodes: Record<string, number>;
  errorCount: number;
  errors: string[];
  /** CPU time this process used since the last reset, ms (user + system). */
  cpuMs: number;
}

export interface ActionResult {
  sent: number;
  failed: number;
  errors: string[];
  elapsedMs: number;
}

export type Reply = ConnectResult | StatsResult | LoadResult | ActionResult | null;

export interface Envelope<T> {
  id: number;
  body: T;
}

export interface ReplyEnvelope {
  id: number;
  ok: boolean;
  body?: Reply;
  error?: string;
}

export const emptyChannelStats = (): ChannelStats => ({
  members: 0, stable: 0, received: 0, sent: 0, rateLimited: 0, joins: 0, leaves: 0, memberAdded: 0, memberRemoved: 0,
});
