// fanout: N subscribers on one public channel, HTTP triggers at a fixed rate from this
// (orchestrator) process, end-to-end latency from the send time carried in each payload.
// --step raises the rate until a step loses messages, falls behind or exceeds --max-p99.
import { runTriggerLoad } from '../http-client.js';
import type { BenchOptions } from '../options.js';
import { clientCpuNote, type Row, type ScenarioResult } from '../report.js';
import { readCpuMs, readUserCpuMs } from '../servers.js';
import { checkDelivery, connectAll, drain, latencyColumns, latencyValues, newResult, channelStats, triggerTarget, type Scenario, type ScenarioContext } from './common.js';

const CHANNEL = 'bench-fanout';

export const fanoutColumns = [
  { key: 'rate', title: 'target/s', better: 'exact' },
  { key: 'published', title: 'published', better: 'exact' },
  { key: 'deliveriesPerS', title: 'deliveries/s', better: 'higher' },
  ...latencyColumns,
  { key: 'lost', title: 'lost', better: 'exact' },
  { key: 'serverUsPerDelivery', title: 'server user µs/delivery', better: 'lower', digits: 2 },
  { key: 'serverCpuUsPerDelivery', title: 'user+kernel µs/delivery', better: 'lower', digits: 2 },
] as const satisfies ScenarioResult['columns'];

export const fanoutParams = (opts: BenchOptions): Record<string, unknown> => ({ subs: opts.subs ?? 1000, rate: opts.rate ?? 100, durationS: opts.durationS, payloadBytes: opts.payloadBytes, step: opts.step });

export const fanout: Scenario = async (ctx) => {
  const subs = ctx.opts.subs ?? 1000;
  const result = newResult(ctx, 'fanout', fanoutParams(ctx.opts), [...fanoutColumns]);
  const conn = await connectAll(ctx, result, subs, { base: CHANNEL, kind: 'public', perChannel: 0 });
  if (conn.subscribed > 0) await measureFanout(ctx, result, CHANNEL, conn.subscribed, '');
  return result;
};

/**
 * Publishes to `channel`, whose `subscribed` subscribers are connected, at --rate or, with --step,
 * searching the peak; rows and notes are labelled `${prefix}${rate}/s`.
 */
export async function measureFanout(ctx: ScenarioContext, result: ScenarioResult, channel: string, subscribed: number, prefix: string): Promise<void> {
  const { opts } = ctx;
  let rate = opts.rate ?? 100;
  let good: number | null = null;
  let bad: number | null = null;
  for (let step = 0; step < (opts.step ? opts.maxSteps : 1); step++) {
    const { row, sustained, why, closed } = await runStep(ctx, channel, `${prefix}${opts.step ? 'step ' : ''}${rate}/s`, rate, result);
    result.rows.push(row);
    if (!opts.step) break;
    ctx.log(`  ${prefix}step ${rate}/s: ${sustained ? 'sustained' : `not sustained (${why})`}`);
    if (closed > 0) {
      result.notes.push(`${prefix}the server closed ${closed} subscribers at ${rate}/s: search stopped (later steps would count them as lost)`);
      if (!sustained) bad = rate;
      break;
    }
    if (sustained) good = rate;
    else bad = rate;
    if (bad === null) rate = Math.round(rate * opts.stepFactor);
    else if (good === null || bad - good <= Math.max(1, good * 0.1)) break; // within 10%: good enough
    else rate = Math.round((good + bad) / 2); // bisect between the last good and first bad rate
  }
  if (opts.step) {
    result.notes.push(good === null ? `${prefix}no step was sustained; lower --rate` : `${prefix}peak sustained rate: ${good}/s × ${subscribed} subs = ${(good * subscribed).toLocaleString('en-US')} deliveries/s with 0 lost`);
    // A 'peak' row lets --vs-limit compare the two peaks even though the steps differ.
    const peak = result.rows.find((r) => r.label.startsWith(prefix) && r.values.rate === good);
    if (peak) result.rows.push({ label: `${prefix}peak`, values: { ...peak.values } });
    // Losses in the failing step are the expected outcome of a peak search, not a failure.
    result.failures = result.failures.filter((f) => !f.startsWith(`${prefix}step `));
  }
}

async function runStep(ctx: ScenarioContext, channel: string, label: string, rate: number, result: ScenarioResult): Promise<{ row: Row; sustained: boolean; why: string; closed: number }> {
  const { opts, pool } = ctx;
  await pool.reset();
  const cpuBefore = readUserCpuMs(ctx.target.pid);
  const totalBefore = readCpuMs(ctx.target.pid);
  const load = await runTriggerLoad(triggerTarget(ctx.target), {
    channel,
    event: 'bench',
    payloadBytes: opts.payloadBytes,
    connections: opts.concurrency ?? 64,
    durationMs: opts.durationS * 1000,
    rate,
  });
  const { stats, waitedMs } = await drain(pool, (s) => {
    const t = channelStats(s, channel);
    return { expected: load.ok * t.members, received: t.received };
  });
  const t = channelStats(stats, channel);
  const cpuAfter = readUserCpuMs(ctx.target.pid);
  const totalAfter = readCpuMs(ctx.target.pid);
  // Everything the server did in the window (HTTP, JSON, fan-out syscalls' user part) over what arrived.
  const perDelivery = (before: number | null, after: number | null): number | null => (before === null || after === null || t.received === 0 ? null : ((after - before) * 1000) / t.received);
  const serverUsPerDelivery = perDelivery(cpuBefore, cpuAfter);
  // With the kernel's part: the writes themselves, which differ most between the subscriber kinds.
  const serverCpuUsPerDelivery = perDelivery(totalBefore, totalAfter);
  const expected = load.ok * t.members;
  const lost = expected - t.received;
  const latency = stats.latency.summary();
  // Deliveries that trail in after the last publish still count, over the longer window.
  const windowS = (load.elapsedMs + waitedMs) / 1000;
  checkDelivery(result, label, lost, stats);
  if (load.failed > 0) result.failures.push(`${label}: ${load.failed} triggers failed: ${load.errors.join(' | ')}`);
  result.notes.push(`${label}: ${clientCpuNote(stats.cpuMs, load.elapsedMs)}`);
  const why = [
    lost !== 0 ? `${lost} lost` : '',
    load.failed > 0 ? `${load.failed} triggers failed` : '',
    load.sent < load.due * 0.99 ? `publisher fell behind (${load.sent}/${load.due} sent)` : '',
    (latency.p99 ?? 0) > opts.maxP99Ms ? `p99 ${latency.p99?.toFixed(0)} ms > ${opts.maxP99Ms}` : '',
  ].filter(Boolean).join(', ');
  return {
    row: {
      label,
      values: { rate, published: load.ok, deliveriesPerS: t.received / windowS, ...latencyValues(latency), lost, serverUsPerDelivery, serverCpuUsPerDelivery },
    },
    sustained: why === '',
    why,
    closed: stats.closed,
  };
}
