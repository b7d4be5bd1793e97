// Floods from one client: a socket subscribing to 100,000 channels must run into a per-connection
// limit (an in-band error, docs/PROTOCOL.md §2.4, or a 4xxx close), and frames sent before
// `connection_established` must not be queued without bound while the handshake waits.
import type { Phase, PhaseContext, PhaseOutcome } from '../runner.js';
import { Tally } from '../tally.js';
import { establish, RawWs, textFrame } from '../wire.js';

const SUBSCRIPTIONS = 100_000;
const CHUNK = 2000;

async function subscriptionFlood(ctx: PhaseContext): Promise<PhaseOutcome> {
  const t = ctx.target;
  const tally = new Tally();
  let succeeded = 0;
  let refusal: string | undefined;
  const conn = await establish({
    host: t.host,
    port: t.port,
    path: `/app/${t.key}?protocol=7`,
    onFrame: (f) => {
      if (f.text.includes('pusher_internal:subscription_succeeded')) succeeded++;
      else if (f.text.includes('pusher:error') || f.text.includes('pusher:subscription_error')) refusal ??= f.text;
    },
  });
  if (conn === undefined) return { figures: {}, problems: ['connection not established'] };
  const { ws } = conn;
  const prefix = `chaos-flood-${Date.now()}-`;
  const deadline = Date.now() + (ctx.short ? 30_000 : 60_000);
  let sent = 0;
  while (sent < SUBSCRIPTIONS && refusal === undefined && ws.isOpen && Date.now() < deadline) {
    const frames = Array.from({ length: CHUNK }, (_, i) => textFrame(`{"event":"pusher:subscribe","data":{"channel":"${prefix}${sent + i}"}}`));
    sent += CHUNK;
    await ws.writeAndDrain(Buffer.concat(frames));
    // Let replies catch up so a refusal stops the flood near where the server drew the line.
    const settle = Date.now() + 5000;
    while (succeeded < sent - 4 * CHUNK && refusal === undefined && ws.isOpen && Date.now() < settle) await new Promise((r) => setTimeout(r, 20));
    ctx.sampleMemory();
  }
  const settle = Date.now() + 5000;
  while (succeeded < sent && refusal === undefined && ws.isOpen && Date.now() < settle) await new Promise((r) => setTimeout(r, 50));
  tally.set('subscribeFrames', sent);
  tally.set('succeeded', succeeded);
  if (!ws.isOpen) tally.add(`close${ws.closeCode}`);
  const closedByLimit = !ws.isOpen && ws.closeCode! >= 4000 && ws.closeCode! < 4300;
  if (refusal === undefined && !closedByLimit) {
    tally.problem(`no per-connection limit: one socket subscribed to ${succeeded.toLocaleString('en-US')} of ${sent.toLocaleString('en-US')} channels without an error${ws.isOpen ? '' : ` (closed ${ws.closeCode})`}`);
  }
  ws.destroy();
  return tally.outcome({}, refusal ? { refusal: refusal.slice(0, 160) } : {});
}

/** A ping frame padded to ~1 KB, so a queue's size shows in bytes as well as frames. */
const PADDED_PING = textFrame(`{"event":"pusher:ping","data":{"pad":"${'p'.repeat(1000)}"}}`);
/** A server that caps what it holds for a socket before the handshake answers at most this many of them. */
const PRE_HANDSHAKE_BOUND = 4096;

async function preHandshakeFlood(ctx: PhaseContext): Promise<PhaseOutcome> {
  const t = ctx.target;
  const tally = new Tally();
  const perSocket = ctx.short ? 12_000 : 32_000;
  const sockets = ctx.short ? 4 : 8;
  const redis = ctx.process?.redis;
  // A stalled Redis holds the handshake (the connection count lives there), so everything sent meanwhile is pre-handshake.
  redis?.stop();
  const conns: { ws: RawWs; pongs: number }[] = [];
  try {
    const flood = Buffer.concat(Array.from({ length: 1000 }, () => PADDED_PING));
    for (let i = 0; i < sockets; i++) {
      const entry = { ws: undefined as unknown as RawWs, pongs: 0 };
      entry.ws = RawWs.open({ host: t.host, port: t.port, path: `/app/${t.key}?protocol=7`, onFrame: (f) => f.text.includes('pusher:pong') && entry.pongs++ });
      conns.push(entry);
      // RFC 6455 §4.1: a client waits for the 101 before sending frames; connection_established may come much later.
      if (!(await entry.ws.upgradeAnswered)) {
        tally.problem(`upgrade refused or dropped (${entry.ws.closeCode})`);
        continue;
      }
      for (let sent = 0; sent < perSocket && entry.ws.isOpen; sent += 1000) {
        tally.add('framesSent', 1000);
        await entry.ws.writeAndDrain(flood, 2000);
      }
      ctx.sampleMemory();
    }
    await new Promise((r) => setTimeout(r, redis ? 3000 : 1000));
    ctx.sampleMemory();
  } finally {
    redis?.resume();
  }
  // Until every socket is closed or fully answered, or the answers stop coming for 2 s.
  const deadline = Date.now() + 15_000;
  let answered = -1;
  let quietSince = Date.now();
  while (Date.now() < deadline && Date.now() - quietSince < 2000 && conns.some((c) => c.ws.isOpen && c.pongs < perSocket)) {
    await new Promise((r) => setTimeout(r, 200));
    const now = conns.reduce((sum, c) => sum + c.pongs, 0);
    if (now !== answered) quietSince = Date.now();
    answered = now;
  }
  const most = Math.max(...conns.map((c) => c.pongs));
  tally.set('mostAnswered', most);
  for (const c of conns) if (!c.ws.isOpen) tally.add(`close${c.ws.closeCode}`);
  if (redis && most > PRE_HANDSHAKE_BOUND) {
    tally.problem(`unbounded pre-handshake queue: a socket got ${most.toLocaleString('en-US')} answers to 1 KB frames sent before connection_established (the handshake was held by a stalled Redis)`);
  }
  for (const c of conns) c.ws.destroy();
  return tally.outcome({}, redis ? {} : { note: 'no process control: handshake not stalled, only memory judged' });
}

export const subscriptionFloodPhase: Phase = { name: 'subscription-flood', run: subscriptionFlood };
export const preHandshakeFloodPhase: Phase = { name: 'pre-handshake-flood', run: preHandshakeFlood, expectsServerLogs: true };
