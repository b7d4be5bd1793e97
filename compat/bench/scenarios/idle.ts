// idle: memory cost of a connection. RSS of the server (needs its pid) while N connections
// that each received connection_established stay silent.
import { readRssKb, settledRssKb } from '../servers.js';
import { connectAll, newResult, type Scenario } from './common.js';

/**
 * Connections are added in this many steps and KB/conn is the least-squares slope of RSS
 * over connection count: a single before/after difference swings with whenever the
 * server's GC happened to run (±30% at 10k connections on the limit server).
 */
const STEPS = 4;

function slope(points: Array<[number, number]>): number | null {
  const n = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return sxx === 0 ? null : points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / sxx;
}

export const idle: Scenario = async (ctx) => {
  const { opts, target } = ctx;
  const subs = opts.subs ?? 1000;
  const result = newResult(ctx, 'idle', { subs, steps: STEPS }, [
    { key: 'established', title: 'established', better: 'exact' },
    { key: 'rssBeforeMb', title: 'RSS empty MB', better: 'lower', digits: 1 },
    { key: 'rssAfterMb', title: 'RSS loaded MB', better: 'lower', digits: 1 },
    { key: 'kbPerConn', title: 'KB/conn', better: 'lower', digits: 2 },
  ]);
  const pid = target.pid;
  const measured = readRssKb(pid) !== null;
  if (!measured) result.notes.push(`no RSS: server pid unknown or unreadable (pass --server-pid PID, or --start-broadcasty / --vs-limit)`);
  const before = await settledRssKb(pid);
  const points: Array<[number, number]> = before === null ? [] : [[0, before]];
  let established = 0;
  let after: number | null = before;
  for (let step = 0; step < STEPS; step++) {
    const count = Math.floor(subs / STEPS) + (step < subs % STEPS ? 1 : 0);
    if (count === 0) continue;
    established += (await connectAll(ctx, result, count)).established;
    after = await settledRssKb(pid);
    if (after !== null) points.push([established, after]);
  }
  const perConn = measured && points.length > 1 ? slope(points) : null;
  if (measured) result.notes.push(`RSS MB at ${points.map(([x, y]) => `${x}: ${(y / 1024).toFixed(1)}`).join(', ')}; KB/conn = least-squares slope`);
  result.rows.push({
    label: `${subs} idle`,
    values: {
      established,
      rssBeforeMb: before === null ? null : before / 1024,
      rssAfterMb: after === null ? null : after / 1024,
      kbPerConn: perConn,
    },
  });
  return result;
};
