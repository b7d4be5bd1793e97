// presence: joins + leaves per second on full presence channels. Each channel has --members
// connections (default 100, the usual member limit); 90% stay and count the member_added /
// member_removed frames they get, 10% leave and re-join back-to-back with locally signed auth.
import { clientCpuNote } from '../report.js';
import { checkDelivery, connectAll, drain, newResult, totals, type Scenario } from './common.js';
import type { MergedStats } from '../pool.js';
import { sleep } from '../stats.js';

/** member events the stable members should have seen: every join and leave, once each. */
function memberEvents(stats: MergedStats): { expected: number; received: number } {
  let expected = 0;
  let received = 0;
  for (const ch of stats.channels.values()) {
    expected += (ch.joins + ch.leaves) * ch.stable;
    received += ch.memberAdded + ch.memberRemoved;
  }
  return { expected, received };
}

export const presence: Scenario = async (ctx) => {
  const { opts, pool } = ctx;
  const members = opts.members ?? 100;
  const subs = opts.subs ?? 2 * members;
  const churners = Math.max(1, Math.round(members * 0.1));
  const result = newResult(ctx, 'presence', { subs, members, churnersPerChannel: churners, durationS: opts.durationS }, [
    { key: 'channels', title: 'channels', better: 'exact' },
    { key: 'opsPerS', title: 'joins+leaves/s', better: 'higher' },
    { key: 'memberEventsPerS', title: 'member evts/s', better: 'higher' },
    { key: 'joinP50', title: 'join p50 ms', better: 'lower', digits: 2 },
    { key: 'joinP99', title: 'join p99 ms', better: 'lower', digits: 2 },
    { key: 'lost', title: 'lost', better: 'exact' },
  ]);
  if (members <= churners) throw new Error('--members must be at least 2 for presence');
  // Joins are sequential-ish on purpose: member lists must be complete before churn starts.
  const conn = await connectAll(ctx, result, subs, { base: 'presence-bench', kind: 'presence', perChannel: members, stable: members - churners }, { concurrency: 64 });
  if (conn.subscribed === 0) return result;

  await sleep(300); // member_added frames of the last joiners must not leak into the window
  await pool.reset();
  ctx.log(`  churning for ${opts.durationS} s…`);
  const churn = await pool.action({ type: 'churn', durationMs: opts.durationS * 1000 }, opts.durationS * 1000 + opts.timeoutMs + 10_000);
  if (churn.failed > 0) result.failures.push(`${churn.failed} re-joins failed: ${churn.errors.join(' | ')}`);
  const { stats, waitedMs } = await drain(pool, memberEvents);
  const t = totals(stats);
  const { expected, received } = memberEvents(stats);
  checkDelivery(result, 'presence', expected - received, stats);
  result.notes.push(clientCpuNote(stats.cpuMs, churn.elapsedMs));
  const join = stats.joinLatency.summary();
  result.rows.push({
    label: `${members}-member channels`,
    values: {
      channels: stats.channels.size,
      opsPerS: (t.joins + t.leaves) / (churn.elapsedMs / 1000),
      memberEventsPerS: received / ((churn.elapsedMs + waitedMs) / 1000),
      joinP50: join.p50,
      joinP99: join.p99,
      lost: expected - received,
    },
  });
  return result;
};
