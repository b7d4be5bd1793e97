// docs/PROTOCOL.md §10 items 1–13: WebSocket endpoint and handshake (§1.1, §1.2, §1.4).
import { Skip, type Case, type CaseContext } from '../types.js';
import { app, assert, assertEqual, connect, errorData, expectErrorThenClose, openRaw, sleep } from '../lib/kit.js';
import { describeStates, pusherJs } from '../lib/pusher-js.js';
import { PUSHER_JS_QUERY, UpgradeRefused, type ConnectOptions, type RawSocket } from '../lib/raw-socket.js';

/** Opens a socket that the server must refuse with `pusher:error` {code} + Close(code). */
async function expectRefused(ctx: CaseContext, opts: ConnectOptions, code: number, what: string): Promise<void> {
  const socket = await openRaw(ctx, opts);
  await expectErrorThenClose(socket, code, what);
}

/** Paths that are not `{prefix}/app/{key}`: each must get HTTP 4xx before the upgrade or 4005. */
function badPaths(ctx: CaseContext): string[] {
  const { pathPrefix: p, key } = ctx.target;
  return [`${p}/app/`, `${p}/app`, `${p}/apps/${key}`, `${p}/application/${key}`, `${p}/app/${key}/extra`, `${p}/`];
}

/** An upgrade attempt: the socket if the server upgraded, else the HTTP status it answered with. */
async function attempt(ctx: CaseContext, opts: ConnectOptions): Promise<{ status?: number; socket?: RawSocket }> {
  try {
    return { socket: await openRaw(ctx, opts) };
  } catch (err) {
    if (err instanceof UpgradeRefused) return { status: err.status };
    throw err;
  }
}

export const cases: Case[] = [
  {
    id: 1,
    title: 'GET /app/{key} upgrades and the first frame is pusher:connection_established',
    async run(ctx) {
      const socket = await openRaw(ctx);
      const first = await socket.next(undefined, 5000, 'first frame');
      assertEqual(first.event, 'pusher:connection_established', 'first frame event');
    },
  },
  {
    id: 2,
    title: 'connection_established data is a JSON string with socket_id and integer activity_timeout > 0',
    async run(ctx) {
      const socket = await openRaw(ctx);
      const first = await socket.next(undefined, 5000, 'first frame');
      assert(typeof first.data === 'string', `data must be a JSON string, got ${first.raw}`);
      const data = first.payload as Record<string, unknown>;
      assert(data && typeof data === 'object', `data must hold a JSON object: ${first.raw}`);
      assert(typeof data.socket_id === 'string', `socket_id must be a string: ${first.raw}`);
      assert(Number.isInteger(data.activity_timeout) && (data.activity_timeout as number) > 0, `activity_timeout must be an integer > 0: ${first.raw}`);
      assertEqual(Object.keys(first.message).sort(), ['data', 'event'], 'top-level members');
    },
  },
  {
    id: 3,
    title: 'socket_id matches ^\\d+\\.\\d+$ and is unique among live connections',
    async run(ctx) {
      const sockets = await Promise.all(Array.from({ length: 25 }, () => connect(ctx)));
      const ids = sockets.map((s) => s.socketId);
      for (const id of ids) assert(/^\d+\.\d+$/.test(id), `socket_id ${JSON.stringify(id)} does not match ^\\d+\\.\\d+$`);
      assertEqual(new Set(ids).size, ids.length, 'distinct socket_ids among 25 live connections');
    },
  },
  {
    id: 4,
    title: 'a configured path prefix (wsPath) in front of /app/{key} is honoured',
    async run(ctx) {
      const prefix = ctx.target.pathPrefix;
      if (!prefix) throw new Skip('target has no path prefix (run with --path-prefix against a server configured with one)');
      await connect(ctx); // {prefix}/app/{key}
      const client = pusherJs(ctx); // pusher-js wsPath = prefix
      await client.waitForState('connected', 5000);
      // Without the prefix the same key must not reach the app.
      const unprefixed = await attempt(ctx, { path: `/app/${ctx.target.key}` });
      if (unprefixed.socket) {
        const first = await unprefixed.socket.next(undefined, 5000, 'reply to an unprefixed path');
        assert(first.event !== 'pusher:connection_established', `unprefixed /app/{key} was accepted: ${first.raw}`);
      }
    },
  },
  {
    id: 5,
    title: 'query protocol=7&client=js&version=8.x.y&flash=false is accepted; extra params ignored',
    async run(ctx) {
      await connect(ctx, { query: PUSHER_JS_QUERY });
      await connect(ctx, { query: `${PUSHER_JS_QUERY}&foo=bar&x-extra=1&client=other` });
      await connect(ctx, { query: 'protocol=7&client=js&version=8.6.0&flash=false' });
    },
  },
  {
    id: 6,
    title: 'unsupported protocol (e.g. 3) → pusher:error 4007 then Close 4007',
    run: (ctx) => expectRefused(ctx, { query: 'protocol=3&client=js&version=8.4.0&flash=false' }, 4007, 'protocol=3'),
  },
  {
    id: 7,
    title: 'unknown key → pusher:error {code:4001} then Close 4001; pusher-js ends disconnected with no retry',
    async run(ctx) {
      const key = `no-such-key-${Date.now()}`;
      await expectRefused(ctx, { key }, 4001, 'unknown key');
      const client = pusherJs(ctx, { key });
      await client.waitForState('disconnected', 5000);
      const settled = client.states.length;
      await sleep(2500); // pusher-js would retry after 1 s (backoff) or at once (retry)
      assert(client.states.length === settled && client.pusher.connection.state === 'disconnected', `pusher-js retried after 4001: ${describeStates(client.states)}`);
      assertEqual(client.delayedRetries, [], 'pusher-js scheduled retries');
    },
  },
  {
    id: 8,
    title: 'disabled app → 4003 frame + Close 4003',
    requires: ['disabledAppKey'],
    run: (ctx) => expectRefused(ctx, app(ctx, 'disabledAppKey'), 4003, 'disabled app'),
  },
  {
    id: 9,
    title: 'connection quota exceeded → 4004 frame + Close 4004',
    requires: ['quotaAppKey'],
    async run(ctx) {
      const opts = app(ctx, 'quotaAppKey');
      await connect(ctx, opts); // the one allowed connection
      await expectRefused(ctx, opts, 4004, 'second connection of a maxConnections=1 app');
    },
  },
  {
    id: 10,
    title: 'TLS-only app reached over plain ws → 4000 frame + Close 4000',
    requires: ['tlsOnlyAppKey'],
    async run(ctx) {
      if (ctx.target.tls) throw new Skip('target is reached over TLS; this case needs plain ws');
      await expectRefused(ctx, app(ctx, 'tlsOnlyAppKey'), 4000, 'TLS-only app over ws');
    },
  },
  {
    id: 11,
    title: 'upgrade on any path other than /app/{key} → 4005 (or HTTP 404 before upgrade)',
    async run(ctx) {
      const problems: string[] = []; // every path is tried, so one report shows them all
      for (const path of badPaths(ctx)) {
        const result = await attempt(ctx, { path });
        if (result.socket) await expectErrorThenClose(result.socket, 4005, `upgrade on ${path}`).catch((e: Error) => problems.push(e.message));
        else if (result.status !== 404) problems.push(`upgrade on ${path}: expected HTTP 404 or pusher:error 4005 + Close 4005, got HTTP ${result.status}`);
      }
      assert(problems.length === 0, problems.join('; '));
    },
  },
  {
    id: 12,
    title: 'no frame precedes connection_established',
    async run(ctx) {
      // Send work the moment the upgrade completes: nothing it causes may overtake the handshake.
      const socket = await openRaw(ctx);
      socket.send({ event: 'pusher:ping', data: {} });
      socket.send({ event: 'pusher:subscribe', data: { auth: '', channel: 'early-bird' } });
      socket.send('not json');
      const first = await socket.next(undefined, 5000, 'first frame');
      assertEqual(first.event, 'pusher:connection_established', 'first frame event');
      assertEqual(socket.received.indexOf(first), 0, 'index of connection_established among received frames');
    },
  },
  {
    id: 13,
    title: 'every pre-handshake pusher:error carries an integer code (never null)',
    async run(ctx) {
      const attempts: [string, ConnectOptions][] = [
        ['unknown key', { key: `no-such-key-${Date.now()}` }],
        ['protocol=3', { query: 'protocol=3&client=js&version=8.4.0&flash=false' }],
        ['bad path', { path: `${ctx.target.pathPrefix}/apps/${ctx.target.key}` }],
      ];
      for (const [what, option] of [['disabled app', 'disabledAppKey'], ['quota app', 'quotaAppKey'], ['TLS-only app', 'tlsOnlyAppKey']] as const) {
        if (ctx.target.options[option] && !(option === 'tlsOnlyAppKey' && ctx.target.tls)) attempts.push([what, app(ctx, option)]);
      }
      if (ctx.target.options.quotaAppKey) await connect(ctx, app(ctx, 'quotaAppKey')); // makes the quota attempt fail
      let checked = 0;
      for (const [what, opts] of attempts) {
        const result = await attempt(ctx, opts);
        if (!result.socket) continue; // refused at HTTP level: no frame at all
        const first = await result.socket.next(undefined, 5000, `error frame (${what})`);
        if (first.event === 'pusher:connection_established') throw new Error(`${what}: connection was accepted`);
        const code = errorData(first).code;
        assert(Number.isInteger(code), `${what}: pre-handshake pusher:error code must be an integer: ${first.raw}`);
        checked++;
      }
      assert(checked > 0, 'no refused connection was upgraded; nothing to check');
    },
  },
];
