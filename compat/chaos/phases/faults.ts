// Process faults on the 2-node cluster (--start-broadcasty): Redis killed or stalled (SIGSTOP),
// a node killed or stalled, while a publisher sends numbered events through the HTTP API and
// subscribers on both nodes count them. An event the API answered 200 for must reach every
// subscriber that stayed connected; a non-200 (503, a timeout) is not a loss, since the
// publisher retries it — that is what the SDKs' callers do with an error.
import { Agent } from 'node:http';
import { publishEvent } from '../api.js';
import type { Phase, PhaseContext, PhaseOutcome, ProcessControl } from '../runner.js';
import { Tally } from '../tally.js';
import { establish, isEvent, textFrame, type RawWs } from '../wire.js';

const EVENT = 'chaos-numbered';
const PUBLISH_TIMEOUT_MS = 2000;
const ATTEMPTS = 6;

interface Fault {
  name: string;
  /** Node index whose sockets and API are expected to go away during the fault. */
  downNode?: number;
  inject(control: ProcessControl): Promise<void> | void;
  heal(control: ProcessControl): Promise<void> | void;
}

interface Counter {
  node: number;
  ws: RawWs;
  seen: Set<number>;
}

async function counter(ctx: PhaseContext, node: number, channel: string): Promise<Counter | undefined> {
  const t = ctx.target;
  const seen = new Set<number>();
  const conn = await establish({
    host: t.host,
    port: t.ports[node],
    path: `/app/${t.key}?protocol=7`,
    onFrame: (f) => {
      if (!f.text.includes(EVENT)) return;
      const n = /\\"n\\":(\d+)/.exec(f.text);
      if (n) seen.add(Number(n[1]));
    },
  });
  if (conn === undefined) return undefined;
  conn.ws.write(textFrame(JSON.stringify({ event: 'pusher:subscribe', data: { channel } })));
  return (await conn.ws.next(isEvent('pusher_internal:subscription_succeeded'), 5000)) ? { node, ws: conn.ws, seen } : undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function scenario(ctx: PhaseContext, fault: Fault): Promise<PhaseOutcome> {
  const t = ctx.target;
  const control = ctx.process!;
  const tally = new Tally();
  const channel = `chaos-fault-${fault.name}-${Date.now()}`;
  const counters = (await Promise.all([0, 0, 1, 1].map((node) => counter(ctx, node, channel)))).filter((c): c is Counter => c !== undefined);
  if (counters.length < 4) return { figures: {}, problems: [`only ${counters.length} of 4 subscribers connected before the fault`] };

  const acked = new Set<number>();
  const agent = new Agent({ keepAlive: true, maxSockets: 2 });
  let faulted = false;
  let stop = false;
  const publisher = async () => {
    for (let n = 1; !stop; n++) {
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        // Round robin over the nodes, skipping the one the fault takes down; a retry goes to the other node.
        let node = (n + attempt) % t.ports.length;
        if (faulted && node === fault.downNode) node = (node + 1) % t.ports.length;
        const reply = await publishEvent(t, t.ports[node], channel, EVENT, JSON.stringify({ n }), agent, PUBLISH_TIMEOUT_MS);
        if (reply.status === 200) {
          acked.add(n);
          tally.add('acked');
          break;
        }
        tally.add(reply.status <= 0 ? 'noAnswer' : `http${reply.status}`);
        await sleep(100);
      }
      await sleep(40);
    }
  };
  const publishing = publisher();
  const hold = ctx.short ? 2000 : 5000;
  await sleep(1000);
  faulted = true;
  await fault.inject(control);
  await sleep(hold);
  await fault.heal(control);
  faulted = false;
  await sleep(hold / 2);
  stop = true;
  await publishing;
  agent.destroy();
  await sleep(ctx.short ? 2000 : 4000);

  for (const c of counters) {
    if (!c.ws.isOpen) {
      tally.add(`node${c.node + 1}Disconnected`);
      if (c.node !== fault.downNode) tally.problem(`subscriber on node ${c.node + 1} disconnected (${c.ws.closeCode}) though the fault was elsewhere`);
      continue;
    }
    const lost = [...acked].filter((n) => !c.seen.has(n));
    tally.add(`lostNode${c.node + 1}`, lost.length);
    if (lost.length > 0) tally.problem(`lost events: a subscriber on node ${c.node + 1} missed ${lost.length} of ${acked.size} events answered 200`, `first missing #${lost.slice(0, 8).join(', #')}`);
  }
  for (const c of counters) c.ws.destroy();
  return tally.outcome();
}

const FAULTS: Fault[] = [
  { name: 'redis-kill', inject: (c) => c.redis!.kill(), heal: (c) => c.redis!.restart() },
  { name: 'redis-stall', inject: (c) => c.redis!.stop(), heal: (c) => c.redis!.resume() },
  { name: 'node-kill', downNode: 1, inject: (c) => c.nodes!.kill(1), heal: (c) => c.nodes!.restart(1) },
  { name: 'node-stall', downNode: 1, inject: (c) => c.nodes!.stop(1), heal: (c) => c.nodes!.resume(1) },
];

export const faultPhases: Phase[] = FAULTS.map((fault) => ({
  name: `fault-${fault.name}`,
  needsProcessControl: true,
  expectsServerLogs: true,
  run: (ctx) => scenario(ctx, fault),
}));
