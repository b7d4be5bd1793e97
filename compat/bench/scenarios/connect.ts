// connect: connections per second until connection_established (a bounded number of
// handshakes in flight), then the same with every connection subscribing to one shared channel.
import { clientCpuNote } from '../report.js';
import { sleep } from '../stats.js';
import { connectAll, newResult, type Scenario } from './common.js';

export const connect: Scenario = async (ctx) => {
  const { opts, pool } = ctx;
  const subs = opts.subs ?? 1000;
  const concurrency = opts.concurrency ?? 256;
  const result = newResult(ctx, 'connect', { subs, concurrency }, [
    { key: 'ok', title: 'ok', better: 'exact' },
    { key: 'perS', title: 'conn/s', better: 'higher' },
    { key: 'p50', title: 'p50 ms', better: 'lower', digits: 2 },
    { key: 'p99', title: 'p99 ms', better: 'lower', digits: 2 },
    { key: 'subP99', title: 'sub p99 ms', better: 'lower', digits: 2 },
  ]);
  // Warm-up burst, not recorded: otherwise the first variant also pays JIT warm-up of client and server.
  await connectAll(ctx, result, Math.min(1000, subs));
  await pool.closeAll();
  for (const subscribe of [false, true]) {
    await pool.reset();
    const merged = await connectAll(ctx, result, subs, subscribe ? { base: 'bench-connect', kind: 'public', perChannel: 0 } : undefined, { concurrency });
    const ok = subscribe ? merged.subscribed : merged.established;
    const handshake = merged.connect.summary();
    result.rows.push({
      label: subscribe ? 'connect+subscribe' : 'connect',
      values: {
        ok,
        perS: ok / (merged.elapsedMs / 1000),
        p50: handshake.p50,
        p99: handshake.p99,
        subP99: subscribe ? merged.subscribe.summary().p99 : null,
      },
    });
    result.notes.push(`${subscribe ? 'connect+subscribe' : 'connect'}: ${clientCpuNote((await pool.stats()).cpuMs, merged.elapsedMs)}`);
    await pool.closeAll();
    await sleep(Math.min(1000, 50 + subs / 10)); // let the server finish its close handling before the next burst
  }
  return result;
};
