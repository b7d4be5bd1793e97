// File-descriptor exhaustion: more idle TCP connections than the server may have open files.
// While they are held, the server must answer at once: `GET /up` with 200 or 503 (full), a new
// WebSocket with connection_established or a 4100 refusal (docs/PROTOCOL.md §1.4) — or, once the
// attacker holds every descriptor it may have, by refusing the TCP connection (it stopped
// accepting rather than spinning). Not a hang, and not a socket dropped after it was accepted.
// When the connections go it must answer again within 15 s, 200 or a 503 that says it is still
// full (reported as `upAfter`), not refuse or hang.
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { NODE_FD_LIMIT } from '../processes.js';
import { recoveredUpStatus, REFUSED, upStatus, type Phase, type PhaseContext, type PhaseOutcome } from '../runner.js';
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
    if (status !== 200 && status !== 503 && status !== REFUSED) tally.problem(`GET /up with ${held.length} idle connections open: ${status === 0 ? 'no answer within 5 s' : `HTTP ${status}`}, expected 200, 503 or a refused connection`);
    const refused = (await upStatus(t.host, t.port)) === REFUSED;
    const ws = RawWs.open({ host: t.host, port: t.port, path: `/app/${t.key}?protocol=7` });
    const hello = await ws.next((f) => socketIdOf(f) !== undefined, 5000);
    // The kernel may queue the connection behind ones the server can no longer accept: a server that
    // then stops accepting resets it before any answer, which is as explicit as a refusal.
    const upgraded = await Promise.race([ws.upgradeAnswered, new Promise<boolean>((r) => setTimeout(() => r(false), 100))]);
    const code = hello === undefined ? await ws.closedWithin(100) : undefined;
    const reset = hello === undefined && !upgraded && code !== undefined;
    ws.destroy();
    tally.set('newSocket', hello !== undefined ? 'established' : refused ? 'refused (not accepting)' : reset ? 'reset before the upgrade (stopped accepting)' : code === undefined ? 'no answer' : `closed ${code}`);
    if (hello === undefined && code !== 4100 && !refused && !reset) {
      tally.problem(`a new WebSocket with ${held.length} idle connections open ${code === undefined ? 'got no answer within 5 s' : `was closed with ${code}`}, expected connection_established or 4100`);
    }
    tally.set('stillOpen', held.filter((s) => !s.destroyed && s.readyState === 'open').length);
  } finally {
    for (const s of held) s.destroy();
  }
  const after = await recoveredUpStatus(t.host, t.port, 15_000);
  tally.set('upAfter', after);
  if (after !== 200 && after !== 503) tally.problem(`GET /up 15 s after the idle connections closed: ${after === REFUSED ? 'still refused' : after === 0 ? 'no answer' : `HTTP ${after}`}, expected 200 or 503`);
  return tally.outcome();
}

export const fdExhaustionPhase: Phase = { name: 'fd-exhaustion', run };
