// Request/response through the SDK against a real server: a Node backend answers with respond(),
// a client asks with request() and gets the reply published to its reply channel with the same
// correlationId; the app's rules give exactly the rights the pattern needs (docs/PROTOCOL.md
// §14.4): requesters publish to the request channels and subscribe their own reply channel,
// responders subscribe the request channels and publish to reply channels. No responder: the
// request rejects with `timeout`; no right to publish: `forbidden` at once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { BroadcastyClient, BroadcastyError, type BroadcastyClientOptions, type Message } from '../client/sdk/index.js';
import type { RunningServer } from '../src/server.js';
import { until } from './support/cluster.js';
import { startTestServer } from './support/in-process.js';
import { JWT_APP, jwtApp, mintToken } from './support/jwt.js';

const RPC = 'private-tenant.acme.rpc.prices';
const RULES = [
  { channel: 'private-tenant.{tid}.replies.{sub}', actions: ['subscribe'], roles: ['*'] },
  { channel: 'private-tenant.{tid}.replies.*', actions: ['publish'], roles: ['responder'] },
  { channel: 'private-tenant.{tid}.rpc.*', actions: ['publish'], roles: ['requester'] },
  { channel: 'private-tenant.{tid}.rpc.*', actions: ['subscribe'], roles: ['responder'] },
];

describe('SDK request/response', () => {
  let server: RunningServer;
  const clients: BroadcastyClient[] = [];

  /** A connected client (request() derives the reply channel from the token it connected with). */
  async function client(sub: string, roles: string[], options: Partial<BroadcastyClientOptions> = {}): Promise<BroadcastyClient> {
    const made = new BroadcastyClient({
      url: `http://127.0.0.1:${server.port}`,
      appKey: JWT_APP.key,
      getToken: () => mintToken({ sub, roles }),
      WebSocket: WebSocket as unknown as BroadcastyClientOptions['WebSocket'],
      offline: { store: 'memory' },
      ...options,
    });
    clients.push(made);
    made.connect();
    await until(() => made.state === 'connected', 20_000, `${sub} connected`);
    return made;
  }

  /** A backend service answering price requests; resolves once its subscription is live. */
  async function pricingService(): Promise<{ seen: Message<{ sku: string }>[] }> {
    const seen: Message<{ sku: string }>[] = [];
    const service = await client('pricing-service', ['responder']);
    service.respond<{ sku: string }, { sku: string; cents: number }>({
      channel: RPC,
      event: 'price',
      handler: (request) => {
        seen.push(request);
        return { sku: request.data.sku, cents: request.data.sku.length * 100 };
      },
    });
    // A request the responder cannot see yet would time out: wait until a probe of our own is answered.
    const probe = await client('probe', ['requester']);
    await until(async () => probe.request({ channel: RPC, event: 'price', payload: { sku: 'probe' }, timeoutMs: 2000 }).then(() => true, () => false), 20_000, 'responder answering');
    return { seen };
  }

  before(async () => {
    server = await startTestServer({ apps: [jwtApp({}, { rules: RULES })], transport: 'node' });
  });

  after(async () => {
    for (const made of clients) made.disconnect();
    await server.shutdown();
  });

  it('a request is answered by the backend: the reply comes on the requester’s reply channel with the same correlationId', async () => {
    const { seen } = await pricingService();
    const shopper = await client('alice', ['requester']);
    const reply = await shopper.request<{ sku: string }, { sku: string; cents: number }>({ channel: RPC, event: 'price', payload: { sku: 'abc' }, timeoutMs: 10_000 });
    assert.deepEqual([reply.channel, reply.event, reply.data], ['private-tenant.acme.replies.alice', 'reply', { sku: 'abc', cents: 300 }]);
    const request = seen.find((m) => m.data.sku === 'abc')!;
    assert.equal(reply.correlationId, request.correlationId);
    assert.deepEqual(request.meta, { replyTo: 'private-tenant.acme.replies.alice' });

    const [one, two] = await Promise.all([
      shopper.request<{ sku: string }, { cents: number }>({ channel: RPC, event: 'price', payload: { sku: 'a' } }),
      shopper.request<{ sku: string }, { cents: number }>({ channel: RPC, event: 'price', payload: { sku: 'abcd' } }),
    ]);
    assert.deepEqual([one.data.cents, two.data.cents], [100, 400], 'concurrent requests each get their own reply');
  });

  it('no responder on the channel: the request rejects with timeout', async () => {
    const shopper = await client('bob', ['requester']);
    await assert.rejects(
      shopper.request({ channel: 'private-tenant.acme.rpc.nobody', payload: 'hello?', timeoutMs: 1500 }),
      (error: BroadcastyError) => error instanceof BroadcastyError && error.code === 'timeout' && /no reply within 1500 ms/.test(error.message),
    );
  });

  it('a requester without the right to publish on the request channel is refused at once with forbidden', async () => {
    const outsider = await client('carol', ['viewer']);
    await assert.rejects(outsider.request({ channel: RPC, event: 'price', payload: { sku: 'x' }, timeoutMs: 60_000 }), (error: BroadcastyError) => error.code === 'forbidden');
  });

  it('a reply channel the requester may not subscribe: the request rejects with forbidden and is never published', async () => {
    const { seen } = await pricingService();
    const snoop = await client('mallory', ['requester'], { replyChannel: 'private-tenant.acme.replies.alice' });
    await assert.rejects(snoop.request({ channel: RPC, event: 'price', payload: { sku: 'never' }, timeoutMs: 10_000 }), (error: BroadcastyError) => error.code === 'forbidden');
    // A later request is answered: had the refused one been published, the responder would have seen it first.
    const shopper = await client('frank', ['requester']);
    await shopper.request({ channel: RPC, event: 'price', payload: { sku: 'later' } });
    assert.deepEqual(seen.filter((m) => m.data.sku === 'never'), []);
  });

  for (const transport of ['sse', 'poll'] as const) {
    it(`${transport}: the first request waits for its reply channel (subscribing reopens the session) and gets its reply`, async () => {
      await pricingService();
      const shopper = await client(`gina-${transport}`, ['requester'], { transport });
      const reply = await shopper.request<{ sku: string }, { cents: number }>({ channel: RPC, event: 'price', payload: { sku: 'ab' }, timeoutMs: 10_000 });
      assert.equal(reply.data.cents, 200);
    });
  }

  it('disconnect rejects pending requests with closed', async () => {
    const shopper = await client('dave', ['requester']);
    const pending = shopper.request({ channel: 'private-tenant.acme.rpc.nobody', payload: 1, timeoutMs: 60_000 });
    shopper.disconnect();
    await assert.rejects(pending, (error: BroadcastyError) => error.code === 'closed');
  });
});
