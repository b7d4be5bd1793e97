// docs/PROTOCOL.md §10 items 14–21: keep-alive and closing (§1.3, §1.4, §2.3, §2.9).
import type { Case, CaseContext } from '../types.js';
import { app, assert, assertEqual, closedWithin, connect, errorData, expectErrorThenClose, openRaw, sleep, uniq } from '../lib/kit.js';
import { describeStates, pusherJs } from '../lib/pusher-js.js';
import type { ConnectOptions, RawSocket } from '../lib/raw-socket.js';

const PONG = { event: 'pusher:pong', data: '{}' };

async function pingGetsPong(socket: RawSocket, ping: Record<string, unknown>): Promise<void> {
  socket.send(ping);
  const pong = await socket.next(undefined, 3000, `reply to ${JSON.stringify(ping)}`);
  assertEqual(pong.message, PONG, `reply to ${JSON.stringify(ping)}`);
}

/** The short-timeout app (activityTimeout=1, pongTimeout=2): checks the handshake says so. */
async function shortTimeoutSocket(ctx: CaseContext, autoPong: boolean): Promise<RawSocket> {
  const socket = await connect(ctx, { ...app(ctx, 'shortTimeoutAppKey'), autoPong });
  assert(socket.activityTimeout > 0 && socket.activityTimeout <= 2, `shortTimeoutAppKey app must advertise activity_timeout 1, got ${socket.activityTimeout}`);
  return socket;
}

/** Time of the first server ping, a text `pusher:ping` or a protocol ping frame. */
async function firstServerPing(socket: RawSocket, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  for (;;) {
    const times = [socket.pings[0], socket.received.find((f) => f.event === 'pusher:ping')?.at].filter((t): t is number => t !== undefined);
    if (times.length > 0) return Math.min(...times);
    if (Date.now() > deadline) throw new Error(`no server ping (text or protocol) within ${ms} ms`);
    await sleep(20);
  }
}

/** Refusals the suite can provoke; keys are long so a reason that echoes them would exceed 123 bytes. */
function refusals(ctx: CaseContext): [string, ConnectOptions, number][] {
  const longKey = `k${'x'.repeat(150)}`;
  const list: [string, ConnectOptions, number][] = [
    ['unknown long key', { key: longKey }, 4001],
    ['protocol=3', { query: 'protocol=3&client=js&version=8.4.0&flash=false' }, 4007],
  ];
  if (ctx.target.options.disabledAppKey) list.push(['disabled app', app(ctx, 'disabledAppKey'), 4003]);
  if (ctx.target.options.tlsOnlyAppKey && !ctx.target.tls) list.push(['TLS-only app', app(ctx, 'tlsOnlyAppKey'), 4000]);
  return list;
}

export const cases: Case[] = [
  {
    id: 14,
    title: '{"event":"pusher:ping","data":{}} gets {"event":"pusher:pong","data":"{}"}',
    async run(ctx) {
      await pingGetsPong(await connect(ctx), { event: 'pusher:ping', data: {} });
    },
  },
  {
    id: 15,
    title: 'ping with data absent, null, or "{}" also gets a pong',
    async run(ctx) {
      const socket = await connect(ctx);
      for (const ping of [{ event: 'pusher:ping' }, { event: 'pusher:ping', data: null }, { event: 'pusher:ping', data: '{}' }]) await pingGetsPong(socket, ping);
    },
  },
  {
    id: 16,
    title: 'inbound protocol ping/pong frames count as activity',
    requires: ['shortTimeoutAppKey'],
    timeoutMs: 15000,
    async run(ctx) {
      // Neither socket answers anything: only its own protocol-level frames can keep it alive.
      const pinger = await shortTimeoutSocket(ctx, false);
      const ponger = await shortTimeoutSocket(ctx, false);
      const keepAlive = setInterval(() => {
        if (pinger.isOpen) pinger.ws.ping();
        if (ponger.isOpen) ponger.ws.pong();
      }, 300);
      ctx.cleanup(() => clearInterval(keepAlive));
      await sleep(5500); // > activity_timeout 1 s + pong timeout 2 s, with margin
      for (const [what, s] of [['socket sending protocol pings', pinger], ['socket sending protocol pongs', ponger]] as const) {
        assert(s.isOpen, `${what} was closed: ${s.closeInfo?.code} ${JSON.stringify(s.closeInfo?.reason)}`);
        assert(!s.received.some((f) => f.event === 'pusher:error'), `${what} got ${s.received.find((f) => f.event === 'pusher:error')?.raw}`);
      }
    },
  },
  {
    id: 17,
    title: 'an idle client gets a server ping after activity_timeout; no reply within pong timeout → 4201 frame + Close 4201',
    requires: ['shortTimeoutAppKey'],
    timeoutMs: 15000,
    async run(ctx) {
      const silent = await shortTimeoutSocket(ctx, false);
      // A client that answers like pusher-js (text pong, automatic protocol pong) must survive.
      const polite = await shortTimeoutSocket(ctx, true);
      polite.ws.on('message', (m) => {
        if (String(m).includes('"pusher:ping"')) polite.send({ event: 'pusher:pong', data: {} });
      });
      const start = Date.now();
      const pingAt = await firstServerPing(silent, 4000);
      assert(pingAt - start >= 500, `server pinged ${pingAt - start} ms after the handshake, before activity_timeout (1 s)`);
      await expectErrorThenClose(silent, 4201, 'unanswered ping');
      const closedAfter = Date.now() - pingAt;
      assert(closedAfter >= 1000, `closed ${closedAfter} ms after the ping; the pong timeout is 2 s`);
      await sleep(Math.max(0, 5500 - (Date.now() - start)));
      await polite.assertAlive('socket that answers pings');
    },
  },
  {
    id: 18,
    title: 'graceful shutdown closes sockets with 4200 (pusher-js reconnects immediately)',
    requires: ['serverPid'],
    async run(ctx) {
      const socket = await connect(ctx);
      await socket.subscribeOk(uniq('drain-'));
      const client = pusherJs(ctx);
      await client.waitForState('connected', 5000);
      const mark = client.states.length;
      process.kill(Number(ctx.target.options.serverPid), 'SIGTERM');
      await expectErrorThenClose(socket, 4200, 'SIGTERM drain');
      const closedAt = Date.now();
      const next = await client.waitForState('connecting', 3000, mark);
      // With 4200 pusher-js retries at 0 ms; any other close leaves it "connected" for ≥ 1 s.
      assert(next.at - closedAt < 500, `pusher-js reconnected ${next.at - closedAt} ms after the close; 4200 means at once (${describeStates(client.states)})`);
    },
  },
  {
    id: 19,
    title: 'overload/drain closes with a 41xx code (pusher-js reconnects after ≥ 1 s)',
    // Needs a server (same host, same app) started with maxSocketsPerProcess=1: the one black-box
    // way to make a server refuse for capacity.
    requires: ['overloadPort'],
    async run(ctx) {
      const port = Number(ctx.target.options.overloadPort);
      const holder = await connect(ctx, { port }); // takes the only slot
      const refused = await openRaw(ctx, { port });
      const frame = await refused.next(undefined, 5000, '41xx error');
      const code = errorData(frame).code ?? 0;
      assert(frame.event === 'pusher:error' && code >= 4100 && code <= 4199, `expected pusher:error 41xx, got ${frame.raw}`);
      assertEqual((await closedWithin(refused, 5000)).code, code, 'close code');
      // pusher-js: refused the same way, then the slot is freed at once. A 41xx backoff means its
      // next attempt (and so "connected") comes ≥ 1 s after the refusal; 42xx would be immediate.
      const client = pusherJs(ctx, { port });
      const refusedAt = await new Promise<number>((resolve) =>
        client.pusher.connection.bind('error', (e: { data?: { code?: number }; error?: { data?: { code?: number } } }) => {
          const c = e.data?.code ?? e.error?.data?.code ?? 0;
          if (c >= 4100 && c <= 4199) resolve(Date.now());
        }),
      );
      holder.terminate();
      const connected = await client.waitForState('connected', 5000).catch(async (err: Error) => {
        const probe = await connect(ctx, { port }).then(
          () => 'a raw connect now succeeds',
          (e: Error) => `a raw connect is refused too (the freed slot was not released?): ${e.message}`,
        );
        throw new Error(`${err.message}; with the only socket closed, ${probe}`);
      });
      assert(connected.at - refusedAt >= 900, `pusher-js reconnected ${connected.at - refusedAt} ms after a ${code} refusal; 41xx means after ≥ 1 s`);
    },
  },
  {
    id: 20,
    title: 'the server never closes a socket with a 43xx code',
    async run(ctx) {
      // Provoke the two 43xx conditions (4301 client-event rate, 4302 watchlist size): in-band only.
      const channel = uniq('private-rate-');
      const flooder = await connect(ctx);
      await flooder.subscribeOk(channel);
      for (let i = 0; i < 25; i++) flooder.send({ event: 'client-flood', channel, data: { i } });
      const watcher = await connect(ctx);
      const ids = Array.from({ length: 105 }, (_, i) => `w${i}`);
      await watcher.signin(JSON.stringify({ id: uniq('watcher-'), watchlist: ids }));
      await sleep(1000);
      for (const [what, s] of [['client-event flooder', flooder], ['oversized watchlist', watcher]] as const) {
        const info = s.closeInfo;
        assert(!info, `${what}: closed with ${info?.code} ${JSON.stringify(info?.reason)}`);
        await s.assertAlive(what);
      }
    },
  },
  {
    id: 21,
    title: 'close reasons are ≤ 123 bytes',
    async run(ctx) {
      for (const [what, opts, code] of refusals(ctx)) {
        const socket = await openRaw(ctx, opts);
        await expectErrorThenClose(socket, code, what);
        const bytes = Buffer.byteLength(socket.closeInfo!.reason);
        assert(bytes <= 123, `${what}: close reason is ${bytes} bytes: ${JSON.stringify(socket.closeInfo!.reason)}`);
      }
    },
  },
];
