// publish: how many signed HTTP triggers per second the server accepts, keep-alive with a
// fixed number of requests in flight (spread over the worker processes), with nobody
// listening and with a handful of subscribers (whose deliveries are also verified).
import { Histogram } from '../stats.js';
import { clientCpuNote } from '../report.js';
import { readCpuMs } from '../servers.js';
import { checkDelivery, connectAll, drain, newResult, channelStats, triggerTarget, type Scenario } from './common.js';

const CHANNEL = 'bench-publish';

export const publish: Scenario = async (ctx) => {
  const { opts, pool } = ctx;
  const concurrency = opts.concurrency ?? 64;
  const listeners = opts.subs ?? 100;
  const result = newResult(ctx, 'publish', { concurrency, subs: [0, listeners], durationS: opts.durationS, payloadBytes: opts.payloadBytes }, [
    { key: 'eventsPerS', title: 'events/s', better: 'higher' },
    { key: 'p50', title: 'req p50 ms', better: 'lower', digits: 2 },
    { key: 'p99', title: 'req p99 ms', better: 'lower', digits: 2 },
    { key: 'failed', title: 'failed', better: 'exact' },
    { key: 'deliveriesPerS', title: 'deliveries/s', better: 'higher' },
    { key: 'lost', title: 'lost', better: 'exact' },
    // What a client-bound run still shows: the server's own cost (user + kernel) per request.
    { key: 'serverUsPerRequest', title: 'server CPU µs/req', better: 'lower', digits: 1 },
  ]);

  for (const subs of [0, listeners]) {
    const label = `${subs} subs`;
    if (subs > 0) {
      const conn = await connectAll(ctx, result, subs, { base: CHANNEL, kind: 'public', perChannel: 0 });
      if (conn.subscribed === 0) continue;
    }
    await pool.reset();
    ctx.log(`  ${label}: ${concurrency} requests in flight for ${opts.durationS} s…`);
    const cpuBefore = readCpuMs(ctx.target.pid);
    const parts = await pool.triggerLoad(triggerTarget(ctx.target), {
      channel: CHANNEL,
      event: 'bench',
      payloadBytes: opts.payloadBytes,
      connections: concurrency,
      durationMs: opts.durationS * 1000,
    });
    const ok = parts.reduce((a, p) => a + p.ok, 0);
    const failed = parts.reduce((a, p) => a + p.failed, 0);
    const elapsedMs = Math.max(...parts.map((p) => p.elapsedMs));
    const latency = Histogram.from(parts.map((p) => p.latency)).summary();
    if (failed > 0) result.failures.push(`${label}: ${failed} triggers failed: ${parts.flatMap((p) => p.errors).slice(0, 3).join(' | ')}`);

    const { stats, waitedMs } = await drain(pool, (s) => {
      const t = channelStats(s, CHANNEL);
      return { expected: ok * t.members, received: t.received };
    });
    const cpuAfter = readCpuMs(ctx.target.pid);
    const t = channelStats(stats, CHANNEL);
    const lost = ok * t.members - t.received;
    checkDelivery(result, label, lost, stats);
    result.notes.push(`${label}: ${clientCpuNote(stats.cpuMs, elapsedMs)}`);
    result.rows.push({
      label,
      values: {
        eventsPerS: ok / (elapsedMs / 1000),
        p50: latency.p50,
        p99: latency.p99,
        failed,
        deliveriesPerS: subs > 0 ? t.received / ((elapsedMs + waitedMs) / 1000) : null,
        lost,
        serverUsPerRequest: cpuBefore === null || cpuAfter === null || ok === 0 ? null : ((cpuAfter - cpuBefore) * 1000) / ok,
      },
    });
    if (subs > 0) await pool.closeAll();
  }
  return result;
};
