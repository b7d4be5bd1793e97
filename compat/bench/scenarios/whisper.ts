// whisper: client events (`client-*`, Echo's whisper) relayed on private channels of
// --members connections each. Servers limit client events per connection (10/s by default),
// so throughput comes from many connections each sending below the limit (--client-rate).
import type { MergedStats } from '../pool.js';
import { clientCpuNote } from '../report.js';
import { sleep } from '../stats.js';
import { checkDelivery, connectAll, drain, latencyColumns, latencyValues, newResult, totals, type Scenario } from './common.js';

/** Every accepted client event reaches every other member of its channel. */
function deliveries(stats: MergedStats): { expected: number; received: number } {
  let expected = 0;
  let received = 0;
  for (const ch of stats.channels.values()) {
    expected += (ch.sent - ch.rateLimited) * (ch.members - 1);
    received += ch.received;
  }
  return { expected, received };
}

export const whisper: Scenario = async (ctx) => {
  const { opts, pool } = ctx;
  const members = opts.members ?? 10;
  // --rate is the total client events/s; connections follow from it unless --subs is given.
  const subs = opts.subs ?? (opts.rate ? Math.ceil(opts.rate / opts.clientRate) : 1000);
  const ratePerConn = opts.rate ? opts.rate / subs : opts.clientRate;
  const result = newResult(ctx, 'whisper', { subs, members, ratePerConn, durationS: opts.durationS }, [
    { key: 'sentPerS', title: 'sent/s', better: 'higher' },
    { key: 'deliveriesPerS', title: 'deliveries/s', better: 'higher' },
    ...latencyColumns,
    { key: 'rateLimited', title: '4301', better: 'exact' },
    { key: 'lost', title: 'lost', better: 'exact' },
  ]);
  if (members < 2) throw new Error('--members must be at least 2 for whisper');
  if (ratePerConn > 10) result.notes.push(`${ratePerConn.toFixed(1)} events/s per connection exceeds the default 10/s client-event limit: expect 4301 unless the server allows more`);
  const conn = await connectAll(ctx, result, subs, { base: 'private-bench-w', kind: 'private', perChannel: members });
  if (conn.subscribed === 0) return result;

  await pool.reset();
  ctx.log(`  ${subs} connections × ${ratePerConn.toFixed(1)} client events/s for ${opts.durationS} s…`);
  const sent = await pool.action({ type: 'whisper', ratePerConn, durationMs: opts.durationS * 1000 }, opts.durationS * 1000 + 30_000);
  await sleep(50); // 4301 replies for the last sends are still in flight
  const { stats, waitedMs } = await drain(pool, deliveries);
  const t = totals(stats);
  const { expected, received } = deliveries(stats);
  checkDelivery(result, 'whisper', expected - received, stats);
  if (t.rateLimited > 0) result.notes.push(`${t.rateLimited} client events rejected with 4301 (rate limit); they are excluded from the expected deliveries`);
  result.notes.push(clientCpuNote(stats.cpuMs, sent.elapsedMs));
  result.rows.push({
    label: `${members}-member channels`,
    values: {
      sentPerS: t.sent / (sent.elapsedMs / 1000),
      deliveriesPerS: received / ((sent.elapsedMs + waitedMs) / 1000),
      ...latencyValues(stats.latency.summary()),
      rateLimited: t.rateLimited,
      lost: expected - received,
    },
  });
  return result;
};
