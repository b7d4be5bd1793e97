// What every scenario gets and the helpers they share (connect-and-verify, delivery drain).
import type { TriggerTarget } from '../http-client.js';
import { emptyChannelStats, type ChannelPlan, type ChannelStats, type Transport } from '../ipc.js';
import type { BenchOptions } from '../options.js';
import type { MergedConnect, MergedStats, Pool } from '../pool.js';
import type { ScenarioResult } from '../report.js';
import type { Target } from '../servers.js';
import { now, sleep, type LatencySummary } from '../stats.js';

export interface ScenarioContext {
  pool: Pool;
  target: Target;
  opts: BenchOptions;
  log(message: string): void;
}

export type Scenario = (ctx: ScenarioContext) => Promise<ScenarioResult>;

/** The URL pusher-js 8 would open (PROTOCOL §1.1). */
export const wsUrl = (t: Target): string => `ws://${t.host}:${t.port}/app/${t.key}?protocol=7&client=js&version=8.4.0&flash=false`;

/** Where each transport's clients connect: the WebSocket URL, the SSE endpoint (§15.1), pusher-js's HTTP base (§7.2). */
export function transportUrl(transport: Transport, t: Target, opts: BenchOptions): string {
  if (transport === 'sse') return `http://${t.host}:${t.port}/broadcasty/sse?app=${encodeURIComponent(t.key)}`;
  if (transport === 'xhr') return `http://${t.host}:${t.port}${opts.httpPath}/app/${t.key}?protocol=7&client=js&version=8.4.0`;
  return wsUrl(t);
}

/** How the transports are called in tables. */
export const TRANSPORT_LABELS: Record<Transport, string> = { ws: 'ws', sse: 'sse', xhr: 'xhr_streaming' };

export const triggerTarget = (t: Target): TriggerTarget => ({ host: t.host, port: t.port, appId: t.appId, key: t.key, secret: t.secret });

export function newResult(ctx: ScenarioContext, scenario: string, params: Record<string, unknown>, columns: ScenarioResult['columns']): ScenarioResult {
  return { scenario, target: ctx.target.label, params, columns, rows: [], notes: [], failures: [] };
}

/**
 * Opens connections (optionally subscribed) and records a failure unless every one made it.
 * HTTP sessions are spread so no source address holds more than --sessions-per-ip of them.
 */
export async function connectAll(
  ctx: ScenarioContext,
  result: ScenarioResult,
  total: number,
  plan?: ChannelPlan,
  { concurrency = 256, transport = 'ws' }: { concurrency?: number; transport?: Transport } = {},
): Promise<MergedConnect> {
  const what = transport === 'ws' ? 'connections' : `${TRANSPORT_LABELS[transport]} sessions`;
  ctx.log(`  opening ${total} ${what}${plan ? ` on ${plan.kind} ${plan.base}${plan.perChannel ? '-*' : ''}` : ''}…`);
  const { target, opts } = ctx;
  const merged = await ctx.pool.connect({
    transport,
    url: transportUrl(transport, target, opts),
    key: target.key,
    secret: target.secret,
    total,
    concurrency,
    timeoutMs: opts.timeoutMs,
    plan,
    perAddress: transport === 'ws' ? undefined : opts.sessionsPerIp,
  });
  const wanted = plan ? merged.subscribed : merged.established;
  if (wanted < total) {
    result.failures.push(`${total - wanted} of ${total} connections did not ${plan ? 'subscribe' : 'get connection_established'}: ${merged.errors.join(' | ')}`);
  }
  ctx.log(`  ${merged.established} established, ${merged.subscribed} subscribed in ${(merged.elapsedMs / 1000).toFixed(1)} s`);
  return merged;
}

/** One channel's counters (zeros when nobody reported it). */
export const channelStats = (stats: MergedStats, name: string): ChannelStats => stats.channels.get(name) ?? emptyChannelStats();

export function totals(stats: MergedStats): ChannelStats {
  const sum = { members: 0, stable: 0, received: 0, sent: 0, rateLimited: 0, joins: 0, leaves: 0, memberAdded: 0, memberRemoved: 0 };
  for (const ch of stats.channels.values()) for (const key of Object.keys(sum) as Array<keyof ChannelStats>) sum[key] += ch[key];
  return sum;
}

/**
 * Polls worker counters until `received` reaches `expected` (both computed from the stats),
 * or nothing new arrived for 2 s, or maxMs passed. Returns the last stats and how long it waited.
 */
export async function drain(
  pool: Pool,
  measure: (stats: MergedStats) => { expected: number; received: number },
  maxMs = 15_000,
): Promise<{ stats: MergedStats; waitedMs: number }> {
  const start = now();
  let stats = await pool.stats();
  let last = measure(stats).received;
  let lastProgress = now();
  for (;;) {
    const { expected, received } = measure(stats);
    if (received >= expected || now() - start > maxMs || now() - lastProgress > 2000) break;
    await sleep(received === last ? 100 : 25);
    stats = await pool.stats();
    const next = measure(stats).received;
    if (next !== last) lastProgress = now();
    last = next;
  }
  return { stats, waitedMs: now() - start };
}

/** Latency columns shared by the delivery scenarios. */
export const latencyColumns = [
  { key: 'p50', title: 'p50 ms', better: 'lower', digits: 2 },
  { key: 'p95', title: 'p95 ms', better: 'lower', digits: 2 },
  { key: 'p99', title: 'p99 ms', better: 'lower', digits: 2 },
  { key: 'max', title: 'max ms', better: 'lower', digits: 1 },
] as const satisfies ScenarioResult['columns'];

export const latencyValues = (s: LatencySummary): Record<string, number | null> => ({ p50: s.p50, p95: s.p95, p99: s.p99, max: s.max });

/** Records a failure when deliveries were lost or sockets dropped, and notes errors seen. */
export function checkDelivery(result: ScenarioResult, label: string, lost: number, stats: MergedStats): void {
  if (lost !== 0) result.failures.push(`${label}: ${lost > 0 ? `${lost} messages lost` : `${-lost} more messages than expected`}`);
  if (stats.closed > 0) result.failures.push(`${label}: ${stats.closed} connections closed by the server (${JSON.stringify(stats.closeCodes)})`);
  if (stats.errorCount > 0) result.notes.push(`${label}: ${stats.errorCount} pusher:error frames, e.g. ${stats.errors[0]}`);
}
