// File-descriptor exhaustion: more idle TCP connections than the server may have open files.
// While they are held, the server must still answer `GET /up` (200, or 503 when it says it is
// full) and a new WebSocket must get connection_established or a 4100 refusal (PROTOCOL.md §1.4)
// — not a hang, and not a dropped socket.
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { NODE_FD_LIMIT } from '../processes.js';
import { upStatus, type Phase, type PhaseContext, type PhaseOutcome } from '../runner.js';
import { Tally } from '../tally.js';
import { RawWs, socketIdOf } from '../wire.js';

/** Our own soft open-file limit, from /proc (Node has no getrlimit). */
function ownFdLimit(): number {
  const match = /Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
  return match ? Number(match[1]) : 1024;
}

function openIdle(host: string, port: number): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(undefined);
    }, 5000);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
}

async function run(ctx: PhaseContext): Promise<PhaseOutcome> {
  const t = ctx.target;
  const tally = new Tally();
  const wanted = ctx.process?.nodes ? NODE_FD_LIMIT + 1000 : ctx.short ? 3000 : 15_000;
  const count = Math.min(wanted, ownFdLimit() - 300);
  if (count < wanted) tally.set('note', `client open-file limit allows ${count} of ${wanted} connections (raise ulimit -n)`);
  const held: Socket[] = [];
  try {
    for (let i = 0; i < count; i += 250) {
      const batch = await Promise.all(Array.from({ length: Math.min(250, count - i) }, () => openIdle(t.host, t.port)));
      for (const s of batch) {
        if (s === undefined) tally.add('connectFailed');
        else {
          s.on('error', () => undefined);
          held.push(s);
        }
      }
    }
    ctx.sampleMemory();
    tally.set('idleConnections', held.length);
    const status = await upStatus(t.host, t.port);
    tally.set('upStatus', status);
    if (status !== 200 && status !== 503) tally.problem(`GET /up with ${held.length} idle connections open: ${status === 0 ? 'no answer within 5 s' : `HTTP ${status}`}, expected 200 or 503`);
    const ws = RawWs.open({ host: t.host, port: t.port, path: `/app/${t.key}?protocol=7` });
    const hello = await ws.next((f) => socketIdOf(f) !== undefined, 5000);
    const code = hello === undefined ? await ws.closedWithin(100) : undefined;
    ws.destroy();
    tally.set('newSocket', hello !== undefined ? 'established' : code === undefined ? 'no answer' : `closed ${code}`);
    if (hello === undefined && code !== 4100) {
      tally.problem(`a new WebSocket with ${held.length} idle connections open ${code === undefined ? 'got no answer within 5 s' : `was closed with ${code}`}, expected connection_established or 4100`);
    }
    tally.set('stillOpen', held.filter((s) => !s.destroyed && s.readyState === 'open').length);
  } finally {
    for (const s of held) s.destroy();
  }
  return tally.outcome();
}

export const fdExhaustionPhase: Phase = { name: 'fd-exhaustion', run };
