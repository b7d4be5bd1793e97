// resume-storm (docs/PROTOCOL.md §13.3): N clients subscribed to one history channel lose their
// sockets, MISSED events are published while they are away, then all reconnect at once and
// subscribe with `resume` from the last position they saw. Measures the time until every client
// holds every missed event and the server CPU the storm cost. The target must keep history for
// `bench-history-*` (--start-broadcasty configures it).
import { KeepAliveConnection, triggerRequest } from '../http-client.js';
import { clientCpuNote } from '../report.js';
import { readUserCpuMs } from '../servers.js';
import { now } from '../stats.js';
import { channelStats, checkDelivery, connectAll, drain, newResult, triggerTarget, type Scenario } from './common.js';

const CHANNEL = 'bench-history-resume';
const MISSED = 100;
/** Reconnects in flight at once: a storm, bounded only by the load generators. */
const STORM_CONCURRENCY = 2048;

export const resumeStorm: Scenario = async (ctx) => {
  const { opts, pool, target } = ctx;
  const subs = opts.subs ?? 10_000;
  const result = newResult(ctx, 'resume-storm', { subs, missed: MISSED, payloadBytes: opts.payloadBytes }, [
    { key: 'clients', title: 'clients', better: 'exact' },
    { key: 'resubscribedS', title: 'all resubscribed s', better: 'lower', digits: 2 },
    { key: 'caughtUpS', title: 'all caught up s', better: 'lower', digits: 2 },
    { key: 'replayedPerS', title: 'replayed events/s', better: 'higher' },
    { key: 'serverCpuMs', title: 'server user CPU ms', better: 'lower' },
    { key: 'serverUsPerClient', title: 'server user µs/client', better: 'lower', digits: 1 },
    { key: 'lost', title: 'lost', better: 'exact' },
  ]);
  const plan = { base: CHANNEL, kind: 'public' as const, perChannel: 0 };
  const first = await connectAll(ctx, result, subs, plan);
  if (first.subscribed === 0) return result;
  await pool.closeAll();

  ctx.log(`  ${MISSED} events published while ${subs} clients are away…`);
  const http = new KeepAliveConnection(target.host, target.port);
  let resume: { epoch: string; offset: number } | undefined;
  try {
    for (let seq = 0; seq < MISSED; seq++) {
      const request = triggerRequest(triggerTarget(target), { channel: CHANNEL, event: 'bench', payloadBytes: opts.payloadBytes, connections: 1, durationMs: 0 }, seq);
      const answer = await http.request('POST', request.path, request.body);
      if (answer.status !== 200) {
        result.failures.push(`publish ${seq}: HTTP ${answer.status} ${answer.body.slice(0, 200)}`);
        return result;
      }
      const position = (JSON.parse(answer.body) as { positions?: Record<string, { epoch: string; offset: number }> }).positions?.[CHANNEL];
      if (position === undefined) {
        result.failures.push(`the target keeps no history for ${CHANNEL} (no positions in the publish answer): configure a history rule for bench-history-*`);
        return result;
      }
      // The clients last saw the event before the first one they missed.
      resume ??= { epoch: position.epoch, offset: position.offset - 1 };
    }
  } finally {
    http.close();
  }

  await pool.reset();
  const cpuBefore = readUserCpuMs(target.pid);
  const start = now();
  const again = await connectAll(ctx, result, subs, { ...plan, resume }, { concurrency: STORM_CONCURRENCY });
  const resubscribedMs = now() - start;
  const { stats } = await drain(pool, (s) => ({ expected: channelStats(s, CHANNEL).members * MISSED, received: channelStats(s, CHANNEL).received }), 60_000);
  const caughtUpMs = now() - start;
  const cpuAfter = readUserCpuMs(target.pid);
  const replayed = channelStats(stats, CHANNEL).received;
  const serverCpuMs = cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore;
  checkDelivery(result, 'replay', again.subscribed * MISSED - replayed, stats);
  result.notes.push(`storm: ${clientCpuNote(stats.cpuMs, caughtUpMs)}`);
  result.rows.push({
    label: `${subs} × ${MISSED} missed`,
    values: {
      clients: again.subscribed,
      resubscribedS: resubscribedMs / 1000,
      caughtUpS: caughtUpMs / 1000,
      replayedPerS: replayed / (caughtUpMs / 1000),
      serverCpuMs,
      serverUsPerClient: serverCpuMs === null || again.subscribed === 0 ? null : (serverCpuMs * 1000) / again.subscribed,
      lost: again.subscribed * MISSED - replayed,
    },
  });
  return result;
};
