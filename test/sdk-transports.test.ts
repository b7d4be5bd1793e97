// The client SDK's connection side against a real server (docs/PROTOCOL.md §1–§2, §14.2, §15):
// each transport connects and receives public and private (JWT) events published with the
// `pusher` SDK; presence members, join and leave; short-lived tokens end in the server's 4203,
// getToken() is asked again and a history channel goes on without loss; `auto` falls back to SSE
// when WebSockets cannot open, and starts there the next time.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type PusherServer from 'pusher';
import { BroadcastyClient, type BroadcastyError, type WebSocketConstructor, type WebSocketLike } from '../client/sdk/index.js';
import type { RunningServer } from '../src/server.js';
import { APP, sdk, sleep, until } from './support/cluster.js';
import { startTestServer } from './support/in-process.js';
import { JWT_APP, jwtApp, mintToken } from './support/jwt.js';
import { rememberedTransport, rememberTransport, REMEMBER_MS } from '../client/sdk/remembered.js';
import { Relay } from './support/relay.js';
import { connected, NodeWebSocket, record, sdkClient } from './support/sdk-client.js';

const SHORT_APP = { id: 'short-id', key: 'short-key', secret: 'short-secret' };
const TRANSPORTS = ['ws', 'sse', 'poll'] as const;

describe('client SDK transports', () => {
  let server: RunningServer;
  let port: number;
  let pusher: PusherServer;
  let jwtPusher: PusherServer;
  const clients: BroadcastyClient[] = [];
  const client = (options: Parameters<typeof sdkClient>[1]) => {
    const c = sdkClient(port, options);
    clients.push(c);
    return c;
  };

  before(async () => {
    const apps = [
      { ...APP, history: [{ channels: ['history.*'] }] },
      jwtApp({ history: [{ channels: ['private-tenant.acme.stream.*'] }] }),
      jwtApp({ history: [{ channels: ['private-tenant.acme.stream.*'] }] }, { clockSkewSeconds: 0 }, SHORT_APP),
    ];
    server = await startTestServer({ apps });
    port = server.port;
    pusher = sdk(port);
    jwtPusher = sdk(port, JWT_APP);
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await server.shutdown();
  });

  for (const transport of TRANSPORTS) {
    it(`${transport}: connects, subscribes a public and a private channel, and receives what the pusher SDK publishes`, async () => {
      const tokens: string[] = [];
      const logged: string[] = [];
      const c = client({
        appKey: JWT_APP.key,
        transport,
        getToken: async () => {
          tokens.push(await mintToken({ sub: `reader-${transport}` }));
          return tokens.at(-1)!;
        },
        log: (level, message, fields) => logged.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`),
      });
      const states: string[] = [];
      c.on('state', (state) => states.push(state));
      const news = record(c, 'tenant.acme.news');
      const orders = record<{ id: number }>(c, 'private-tenant.acme.orders');
      await connected(c);
      assert.equal(c.transport, transport);
      // Published until it arrives: the subscription may still be on its way.
      await until(async () => {
        await jwtPusher.trigger(['tenant.acme.news', 'private-tenant.acme.orders'], 'order.shipped', { id: 7 });
        return news.messages.length > 0 && orders.messages.length > 0;
      }, 15_000, 'both channels receive');
      assert.deepEqual(orders.messages[0], { channel: 'private-tenant.acme.orders', event: 'order.shipped', data: { id: 7 } });
      assert.deepEqual(news.messages[0].data, { id: 7 });
      assert.deepEqual([news.errors, orders.errors], [[], []]);
      assert.deepEqual(states.slice(0, 2), ['connecting', 'connected']);
      // The log option sees the connection's life, never a token (the ws URL carries one).
      if (transport === 'ws') assert.ok(logged.some((line) => line.includes('token=[redacted]')), 'the ws URL is logged, redacted');
      assert.deepEqual(logged.filter((line) => tokens.some((token) => line.includes(token))), []);
    });

    it(`${transport}: a private channel without a token is refused with unauthorized, the public one keeps working`, async () => {
      const c = client({ appKey: JWT_APP.key, transport });
      // Without a principal, tenant channels are refused too (§14.3): a shared public one.
      const news = record(c, 'lobby');
      const orders = record(c, 'private-tenant.acme.orders');
      await until(() => orders.errors.length > 0, 15_000, 'the refusal');
      assert.equal(orders.errors[0].code, 'unauthorized');
      assert.match(orders.errors[0].message, /private-tenant\.acme\.orders/);
      await until(async () => {
        await jwtPusher.trigger('lobby', 'ping', 'x');
        return news.messages.length > 0;
      }, 15_000, 'the public channel receives');
      assert.equal(news.messages[0].data, 'x');
      assert.deepEqual(news.errors, []);
    });
  }

  it('presence: members from the roster, join and leave as other clients come and go (ws and sse)', async () => {
    const room = 'presence-tenant.acme.room';
    const a = client({ appKey: JWT_APP.key, transport: 'ws', getToken: () => mintToken({ sub: 'alice', user_info: { name: 'Alice' } }) });
    const presence = a.presence(room);
    const joined: string[] = [];
    const left: string[] = [];
    presence.on('join', (member) => joined.push(member.id));
    presence.on('leave', (member) => left.push(member.id));
    await until(() => presence.members.has('alice'), 15_000, 'alice in her own roster');
    assert.deepEqual(presence.members.get('alice'), { name: 'Alice' });

    const b = client({ appKey: JWT_APP.key, transport: 'sse', getToken: () => mintToken({ sub: 'bob' }) });
    const bobsView = b.presence(room);
    await until(() => joined.includes('bob'), 15_000, 'bob joins');
    await until(() => bobsView.members.has('alice') && bobsView.members.has('bob'), 15_000, 'bob sees both');
    assert.equal(presence.members.size, 2);
    bobsView.close();
    await until(() => left.includes('bob'), 20_000, 'bob leaves');
    assert.deepEqual([...presence.members.keys()], ['alice']);
  });

  for (const transport of ['ws', 'sse'] as const) {
    it(`${transport}: tokens that expire end in 4203, getToken() is called again and the history channel misses nothing`, async () => {
      let tokens = 0;
      const c = client({
        appKey: SHORT_APP.key,
        transport,
        getToken: () => {
          tokens += 1;
          return mintToken({ sub: 'short' }, { expiresIn: 2 });
        },
      });
      const channel = `private-tenant.acme.stream.${transport}`;
      const stream = record<{ i: number }>(c, channel);
      await connected(c);
      const publisher = sdk(port, SHORT_APP);
      let i = 0;
      // At least two expiries happen while ticks flow.
      while (tokens < 3) {
        await publisher.trigger(channel, 'tick', { i: i++ });
        await new Promise((resolve) => setTimeout(resolve, 50));
        if (i > 2000) throw new Error('getToken() was not called again');
      }
      await until(() => stream.messages.length >= i, 20_000, `all ${i} ticks`);
      assert.deepEqual(stream.messages.map((m) => m.data.i), Array.from({ length: i }, (_, k) => k));
      assert.deepEqual(stream.errors, []);
    });
  }

  it('presence: a throwing join or members handler is logged; the other handlers and the connection go on', async () => {
    const room = 'presence-tenant.acme.guarded';
    const logged: string[] = [];
    const a = client({ appKey: JWT_APP.key, transport: 'ws', getToken: () => mintToken({ sub: 'carol' }), log: (level, message) => logged.push(`${level} ${message}`) });
    const presence = a.presence(room);
    const joined: string[] = [];
    presence.on('members', () => {
      throw new Error('members handler bug');
    });
    presence.on('join', () => {
      throw new Error('join handler bug');
    });
    presence.on('join', (member) => joined.push(member.id));
    const news = record(a, 'tenant.acme.guarded-news');
    await until(() => presence.members.has('carol'), 15_000, 'carol in her own roster');
    const b = client({ appKey: JWT_APP.key, transport: 'ws', getToken: () => mintToken({ sub: 'dave' }) });
    b.presence(room);
    await until(() => joined.includes('dave'), 15_000, 'the second join handler hears dave');
    await until(async () => {
      await jwtPusher.trigger('tenant.acme.guarded-news', 'after', 1);
      return news.messages.length > 0;
    }, 15_000, 'the connection still delivers');
    assert.ok(logged.includes(`error a presence join handler on ${room} threw`), logged.join('\n'));
    assert.ok(logged.includes(`error a presence members handler on ${room} threw`));
  });

  it('a server refusing new connections before they open (4200, draining) is retried with backoff, not in a loop', async () => {
    let attempts = 0;
    const Draining = class {
      readyState = 0;
      onopen = null;
      onmessage = null;
      onclose: WebSocketLike['onclose'] = null;
      onerror: WebSocketLike['onerror'] = null;
      constructor() {
        attempts += 1;
        setTimeout(() => this.onclose?.({ code: 4200, reason: 'draining' }), 0);
      }
      send() {}
      close() {}
    } as unknown as WebSocketConstructor;
    // A fetch that refuses SSE and poll as a draining server does.
    const refusing: typeof fetch = async () => new Response('{"error":"draining"}', { status: 503, headers: { 'content-type': 'application/json' } });
    for (const transport of ['ws', 'auto'] as const) {
      attempts = 0;
      let tokens = 0;
      const c = client({
        appKey: APP.key,
        transport,
        WebSocket: Draining,
        fetch: refusing,
        reconnect: { minDelayMs: 200, maxDelayMs: 1000 },
        getToken: () => {
          tokens += 1;
          return null;
        },
      });
      record(c, 'drain');
      await sleep(2000);
      c.disconnect();
      // Without backoff this was hundreds per second; with it a handful (the delays grow to 1 s).
      assert.ok(attempts >= 1 && tokens < 40, `${transport}: ${tokens} connects, ${attempts} WebSockets in 2 s`);
    }
  });

  it('disconnect() then connect() while getToken() still runs: the stale attempt opens nothing, one connection stays', async () => {
    let release!: () => void;
    const late = new Promise<void>((resolve) => (release = resolve));
    let asked = 0;
    let sockets = 0;
    const Counting = class extends (NodeWebSocket as unknown as new (url: string) => object) {
      constructor(url: string) {
        super(url);
        sockets += 1;
      }
    } as unknown as WebSocketConstructor;
    const c = client({
      appKey: APP.key,
      transport: 'ws',
      WebSocket: Counting,
      getToken: async () => {
        if (++asked === 1) await late;
        return null;
      },
    });
    record(c, 'late-token');
    c.disconnect();
    const ticks = record(c, 'late-token');
    await connected(c);
    release();
    // The first getToken() resolves now: a macrotask later its open() has built whatever it builds.
    await sleep(0);
    assert.deepEqual([asked, sockets], [2, 1]);
    await until(async () => {
      await pusher.trigger('late-token', 'tick', 1);
      return ticks.messages.length > 0;
    }, 15_000, 'an event on the new connection');
    const held = [...server.ctx.hub.connections.values()].filter((connection) => connection.subscriptions.has('late-token'));
    assert.equal(held.length, 1);
  });

  it('auto: the remembered transport is forgotten after an hour, so a later client tries WebSockets again', () => {
    const url = 'http://remembered.example';
    const at = Date.now();
    rememberTransport(url, 'sse', at);
    assert.equal(rememberedTransport(url, at + REMEMBER_MS - 1), 'sse');
    assert.equal(rememberedTransport(url, at + REMEMBER_MS), undefined);
  });

  it('ws: a close with 4009 (terminate_connections) is final: state closed, an error with the reason, no reconnect', async () => {
    const c = client({ appKey: JWT_APP.key, transport: 'ws', getToken: () => mintToken({ sub: 'terminated' }) });
    const errors: BroadcastyError[] = [];
    c.on('error', (error) => errors.push(error));
    let connects = 0;
    c.on('state', (state) => void (state === 'connected' && connects++));
    await connected(c.connect());
    await jwtPusher.terminateUserConnections('acme.terminated');
    await until(() => c.state === 'closed', 15_000, 'closed');
    assert.equal(errors[0]?.code, 'forbidden');
    assert.match(errors[0].message, /4009/);
    await sleep(500);
    assert.equal(connects, 1);
    assert.equal(c.state, 'closed');
  });

  it('auto: falls back to SSE when WebSockets cannot open, and the next client starts there', async () => {
    let constructed = 0;
    const Refusing = class {
      readyState = 3;
      onopen = null;
      onmessage = null;
      onclose: WebSocketLike['onclose'] = null;
      onerror: WebSocketLike['onerror'] = null;
      constructor() {
        constructed += 1;
        setTimeout(() => {
          this.onerror?.({});
          this.onclose?.({ code: 1006, reason: '' });
        }, 10);
      }
      send() {
        throw new Error('not open');
      }
      close() {}
    } as unknown as WebSocketConstructor;
    const first = client({ appKey: APP.key, transport: 'auto', WebSocket: Refusing });
    const transports: string[] = [];
    first.on('transport', (name) => transports.push(name));
    const ticks = record(first, 'history.auto');
    await connected(first);
    assert.deepEqual(transports, ['sse']);
    assert.equal(constructed, 2);
    await until(async () => {
      await pusher.trigger('history.auto', 'tick', 1);
      return ticks.messages.length > 0;
    }, 15_000, 'an event over SSE');

    const second = client({ appKey: APP.key, transport: 'auto', WebSocket: Refusing });
    record(second, 'history.auto');
    await connected(second);
    assert.equal(second.transport, 'sse');
    assert.equal(constructed, 2, 'the second client did not try WebSockets');
  });
});

describe('client SDK keep-alive', () => {
  let server: RunningServer;
  before(async () => (server = await startTestServer({ apps: [{ ...APP, activityTimeout: 1, pongTimeout: 1 }] })));
  after(() => server.shutdown());

  it('ws: with a 1 s activity timeout both sides ping the idle connection and it stays up', async () => {
    const c = sdkClient(server.port, { appKey: APP.key, transport: 'ws' });
    let connects = 0;
    c.on('state', (state) => void (state === 'connected' && connects++));
    const news = record(c, 'news');
    try {
      await connected(c);
      // Idle for several activity timeouts: an unanswered server ping would close it with 4201.
      await sleep(4000);
      await until(async () => {
        await sdk(server.port).trigger('news', 'still-here', 1);
        return news.messages.length > 0;
      }, 15_000, 'an event after the idle time');
      assert.equal(connects, 1);
    } finally {
      c.disconnect();
    }
  });
});

describe('client SDK watchdog on SSE and poll', () => {
  let server: RunningServer;
  let relay: Relay;
  before(async () => {
    // Heartbeats and polls of a second: the watchdogs below can be short without false alarms.
    server = await startTestServer({ apps: [{ ...APP, history: [{ channels: ['history.*'] }] }], httpHeartbeatSeconds: 1, pollTimeoutSeconds: 1 });
    relay = await Relay.start([server.port]);
  });
  after(async () => {
    await relay.stop();
    await server.shutdown();
  });

  for (const transport of ['sse', 'poll'] as const) {
    it(`${transport}: a connection that goes silent (half-open) is noticed, reopened and resumed: no event lost`, async () => {
      const c = sdkClient(relay.port, { appKey: APP.key, transport, watchdog: { sseIdleMs: 2500, pollTimeoutMs: 3000 } });
      const channel = `history.stall-${transport}`;
      const ticks = record<number>(c, channel);
      const publisher = sdk(server.port);
      try {
        await connected(c);
        await until(async () => {
          await publisher.trigger(channel, 'tick', 0);
          return ticks.messages.length > 0;
        }, 15_000, 'a first event');
        const relayed = relay.connections;
        relay.stall();
        for (let i = 1; i <= 3; i++) await publisher.trigger(channel, 'tick', i);
        await until(() => ticks.messages.some((m) => m.data === 3), 20_000, 'the events published during the stall');
        assert.ok(relay.connections > relayed, 'a new connection was opened');
        const after = ticks.messages.map((m) => m.data).filter((n) => n > 0);
        assert.deepEqual(after, [1, 2, 3]);
        assert.deepEqual(ticks.errors, []);
      } finally {
        c.disconnect();
      }
    });
  }
});
