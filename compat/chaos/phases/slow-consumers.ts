// Slow consumers: sockets that stop reading on a busy channel. Once one has more than the
// server's backpressure limit queued, it must be closed with 4100 (docs/PROTOCOL.md §1.4: pusher-js
// reconnects after 1 s) — a drop without a Close frame (1006) looks like a network fault and
// hides the cause. Sockets that keep reading on the same channel must get every event.
import { Agent } from 'node:http';
import { call, publishBatch, signedPath } from '../api.js';
import type { Phase, PhaseContext, PhaseOutcome } from '../runner.js';
import { Tally } from '../tally.js';
import { establish, isEvent, textFrame, type RawWs } from '../wire.js';

/** Per subscriber: past the kernel's socket buffers (~4 MB send + receive window) plus 4 MiB of server backpressure. */
const BYTES_PER_SUBSCRIBER = 24 * 1024 * 1024;
const EVENT_DATA = 'x'.repeat(9000);
const BATCH = 10;
const EVENT_NAME = 'chaos-slow';

async function subscriber(ctx: PhaseContext, channel: string, onEvent?: () => void): Promise<RawWs | undefined> {
  const t = ctx.target;
  const conn = await establish({ host: t.host, port: t.port, path: `/app/${t.key}?protocol=7`, onFrame: onEvent && ((f) => f.length > 8000 && onEvent()) });
  if (conn === undefined) return undefined;
  conn.ws.write(textFrame(JSON.stringify({ event: 'pusher:subscribe', data: { channel } })));
  return (await conn.ws.next(isEvent('pusher_internal:subscription_succeeded'), 5000)) ? conn.ws : undefined;
}

async function run(ctx: PhaseContext): Promise<PhaseOutcome> {
  const t = ctx.target;
  const tally = new Tally();
  const channel = `chaos-slow-${Date.now()}`;
  // The client reads every dropped socket's backlog (MBs each) within the close margin: more sockets
  // would measure this process's parsing speed, not the server.
  const slowCount = ctx.short ? 16 : 24;
  const slow = (await Promise.all(Array.from({ length: slowCount }, () => subscriber(ctx, channel)))).filter((s): s is RawWs => s !== undefined);
  let delivered = 0;
  const readers = (await Promise.all([1, 2].map(() => subscriber(ctx, channel, () => delivered++)))).filter((s): s is RawWs => s !== undefined);
  if (slow.length < slowCount || readers.length < 2) tally.problem(`only ${slow.length + readers.length} of ${slowCount + 2} subscribers connected and subscribed`);
  for (const s of slow) s.socket.pause();
  tally.set('slowSockets', slow.length);

  const batches = Math.ceil(BYTES_PER_SUBSCRIBER / (EVENT_DATA.length * BATCH));
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const events = Array.from({ length: BATCH }, () => ({ channel, name: EVENT_NAME, data: EVENT_DATA }));
  const countPath = signedPath(t, 'GET', `/channels/${channel}`, undefined, { info: 'subscription_count' });
  const subscribers = async () => {
    const reply = await call(t.host, t.port, 'GET', countPath);
    return reply.status === 200 ? (JSON.parse(reply.body) as { subscription_count?: number }).subscription_count : undefined;
  };
  let sent = 0;
  const deadline = Date.now() + (ctx.short ? 30_000 : 90_000);
  const codes = new Map<RawWs, number>();
  let stalled = slow;
  // Rounds: publish while the slow sockets are stalled until the server drops some (its
  // subscription_count falls), then every stalled socket reads again at once, as a client coming
  // back from a stall would: a dropped one must find Close 4100 behind its backlog (a Close frame
  // queued behind data reaches only a client that reads within the server's close margin, 4 s on
  // uWS — so it must not wait for the rest of the load). The others caught up and stall again.
  while (stalled.length > 0 && sent < batches && Date.now() < deadline) {
    const watching = slow.length - codes.size + readers.length;
    let dropped = false;
    const watcher = async () => {
      while (!dropped && sent < batches && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        const count = await subscribers();
        if (count !== undefined && count < watching) dropped = true;
      }
    };
    const publisher = async () => {
      while (!dropped && sent < batches && Date.now() < deadline) {
        sent++;
        const reply = await publishBatch(t, t.port, events, agent);
        if (reply.status === 200) tally.add('published', BATCH);
        else tally.problem(`publish answered ${reply.status} during the slow-consumer load`, reply.body);
        ctx.sampleMemory();
      }
    };
    await Promise.all([publisher(), publisher(), publisher(), publisher(), watcher()]);
    for (const s of stalled) s.socket.resume();
    // Long enough to read a backlog of several MB on loopback, well inside the close margin.
    await new Promise((r) => setTimeout(r, 1500));
    for (const s of stalled) if (!s.isOpen) codes.set(s, s.closeCode ?? -1);
    stalled = stalled.filter((s) => s.isOpen);
    tally.add('rounds');
    for (const s of stalled) s.socket.pause();
  }
  agent.destroy();
  for (const s of stalled) s.socket.resume();
  for (const s of stalled) {
    const code = await s.closedWithin(5000);
    if (code !== undefined) codes.set(s, code);
  }
  for (const s of slow) {
    const code = codes.get(s);
    tally.add(code === undefined ? 'stillOpen' : `close${code}`);
    if (code === undefined) tally.problem(`slow consumer never closed after ${(BYTES_PER_SUBSCRIBER / 1048576).toFixed(0)} MB were published to it (backpressure unbounded?)`);
    else if (code !== 4100) tally.problem(`wrong close code: slow consumer closed with ${code}, expected 4100 (docs/PROTOCOL.md §1.4)`);
  }
  // Every accepted event must reach a socket that keeps up.
  const expected = tally.count('published');
  const readDeadline = Date.now() + 20_000;
  while (delivered < expected * readers.length && Date.now() < readDeadline && readers.every((r) => r.isOpen)) await new Promise((r) => setTimeout(r, 100));
  tally.set('readerDeliveries', delivered);
  if (delivered < expected * readers.length) tally.problem(`lost events: reading subscribers got ${delivered} of ${expected * readers.length} (closed: ${readers.filter((r) => !r.isOpen).map((r) => r.closeCode).join(',') || 'none'})`);

  for (const s of [...slow, ...readers]) s.destroy();
  return tally.outcome();
}

export const slowConsumersPhase: Phase = { name: 'slow-consumers', run };
