// fanout-kinds and idle-kinds: the fanout and idle measurements once per transport in --kinds
// (WebSocket, SSE, pusher-js xhr_streaming), one after the other against the same server, so the
// rows compare what each subscriber kind costs. Every session is subscribed to one public channel
// of its kind's own: an SSE stream cannot exist without one, and the rows stay comparable.
import type { Transport } from '../ipc.js';
import { connectAll, newResult, TRANSPORT_LABELS, type Scenario, type ScenarioContext } from './common.js';
import { fanoutColumns, fanoutParams, measureFanout } from './fanout.js';
import { idleColumns, measureIdle } from './idle.js';

const spreadNote = (ctx: ScenarioContext): string =>
  `HTTP sessions spread at ≤ ${ctx.opts.sessionsPerIp} per source address (127.0.0.x; --sessions-per-ip), under the server's maxHttpSessionsPerIp`;

/** Runs each kind in turn and closes its sessions after it, whether it measured or threw. */
async function eachKind(ctx: ScenarioContext, run: (kind: Transport, label: string) => Promise<void>): Promise<void> {
  for (const kind of ctx.opts.kinds) {
    ctx.log(` ${TRANSPORT_LABELS[kind]}:`);
    try {
      await run(kind, TRANSPORT_LABELS[kind]);
    } finally {
      await ctx.pool.closeAll();
    }
  }
}

export const fanoutKinds: Scenario = async (ctx) => {
  const subs = ctx.opts.subs ?? 1000;
  const result = newResult(ctx, 'fanout-kinds', { ...fanoutParams(ctx.opts), kinds: ctx.opts.kinds }, [...fanoutColumns]);
  if (ctx.opts.kinds.some((k) => k !== 'ws')) result.notes.push(spreadNote(ctx));
  await eachKind(ctx, async (kind, label) => {
    const channel = `bench-fanout-${kind}`;
    const conn = await connectAll(ctx, result, subs, { base: channel, kind: 'public', perChannel: 0 }, { transport: kind });
    if (conn.subscribed > 0) await measureFanout(ctx, result, channel, conn.subscribed, `${label} `);
  });
  return result;
};

export const idleKinds: Scenario = async (ctx) => {
  const subs = ctx.opts.subs ?? 1000;
  const result = newResult(ctx, 'idle-kinds', { subs, kinds: ctx.opts.kinds }, [...idleColumns]);
  if (ctx.opts.kinds.some((k) => k !== 'ws')) result.notes.push(spreadNote(ctx));
  await eachKind(ctx, async (kind, label) => {
    const plan = { base: `bench-idle-${kind}`, kind: 'public', perChannel: 0 } as const;
    await measureIdle(ctx, result, `${label}: ${subs} subscribed`, (count) => connectAll(ctx, result, count, plan, { transport: kind }));
  });
  return result;
};
