// idle: memory cost of a connection. RSS of the server (needs its pid) while N connections
// that each received connection_established stay silent.
import { readRssKb, settledRssKb } from '../servers.js';
import type { MergedConnect } from '../pool.js';
import type { ScenarioResult } from '../report.js';
import { connectAll, newResult, type Scenario, type ScenarioContext } from './common.js';

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

export const idleColumns = [
  { key: 'established', title: 'established', better: 'exact' },
  { key: 'rssBeforeMb', title: 'RSS empty MB', better: 'lower', digits: 1 },
  { key: 'rssAfterMb', title: 'RSS loaded MB', better: 'lower', digits: 1 },
  { key: 'kbPerConn', title: 'KB/conn', better: 'lower', digits: 2 },
] as const satisfies ScenarioResult['columns'];

export const idle: Scenario = async (ctx) => {
  const subs = ctx.opts.subs ?? 1000;
  const result = newResult(ctx, 'idle', { subs, steps: STEPS }, [...idleColumns]);
  await measureIdle(ctx, result, `${subs} idle`, (count) => connectAll(ctx, result, count));
  return result;
};

/** Adds --subs connections in STEPS parts with `open(count)`, reading the server's RSS after each; one row. */
export async function measureIdle(ctx: ScenarioContext, result: ScenarioResult, label: string, open: (count: number) => Promise<MergedConnect>): Promise<void> {
  const subs = ctx.opts.subs ?? 1000;
  const pid = ctx.target.pid;
  const measured = readRssKb(pid) !== null;
  const noRss = `no RSS: server pid unknown or unreadable (pass --server-pid PID, or --start-broadcasty / --vs-limit)`;
  if (!measured && !result.notes.includes(noRss)) result.notes.push(noRss);
  const before = await settledRssKb(pid);
  const points: Array<[number, number]> = before === null ? [] : [[0, before]];
  let established = 0;
  let after: number | null = before;
  for (let step = 0; step < STEPS; step++) {
    const count = Math.floor(subs / STEPS) + (step < subs % STEPS ? 1 : 0);
    if (count === 0) continue;
    established += (await open(count)).established;
    after = await settledRssKb(pid);
    if (after !== null) points.push([established, after]);
  }
  const perConn = measured && points.length > 1 ? slope(points) : null;
  if (measured) result.notes.push(`${label}: RSS MB at ${points.map(([x, y]) => `${x}: ${(y / 1024).toFixed(1)}`).join(', ')}; KB/conn = least-squares slope`);
  result.rows.push({
    label,
    values: {
      established,
      rssBeforeMb: before === null ? null : before / 1024,
      rssAfterMb: after === null ? null : after / 1024,
      kbPerConn: perConn,
    },
  });
}
