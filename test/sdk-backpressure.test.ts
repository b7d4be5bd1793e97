// Backpressure in the SDK: a deliberately slow handler (each call holds until the test releases
// it) and a burst of messages, in each mode: `drop` keeps the newest waiting message, `queue`
// keeps the newest maxQueued in order, `slow-start` hands over batches of 1, 2, 4… up to
// maxBatch and shrinks once the backlog is gone; stats() counts all of it. A handler that throws
// or rejects reaches onError and delivery goes on. End to end: a BroadcastyClient subscription in
// `drop` mode behind a slow handler while the server publishes a burst.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { createDelivery } from '../client/sdk/backpressure.js';
import { BroadcastyClient, type BroadcastyClientOptions, type Message } from '../client/sdk/index.js';
import { APP, triggerRaw, until } from './support/cluster.js';
import { startTestServer } from './support/in-process.js';

const message = (n: number): Message<number> => ({ channel: 'orders', event: 'tick', data: n });

/** A handler that stays busy until release(): the calls it got, as the app would see them. */
class SlowHandler<A> {
  readonly calls: A[] = [];
  private readonly pending: (() => void)[] = [];

  readonly handle = (argument: A): Promise<void> => {
    this.calls.push(argument);
    return new Promise((resolve) => this.pending.push(resolve));
  };

  /** Completes the oldest running call, lets the delivery react, and waits for the calls to number expectCalls. */
  async release(expectCalls: number): Promise<void> {
    this.pending.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
    await until(() => this.calls.length === expectCalls, 10_000, `call ${expectCalls}`);
  }
}

const limits = { maxQueued: 5, maxBatch: 4 };
const noErrors = (error: unknown) => assert.fail(`unexpected handler error: ${String(error)}`);
const values = (messages: Message<number>[]) => messages.map((m) => m.data);

describe('SDK backpressure', () => {
  it('drop: while the handler is busy only the newest message waits; every replaced one counts as dropped', async () => {
    const slow = new SlowHandler<Message<number>>();
    const delivery = createDelivery<number>('drop', { onMessage: slow.handle, onError: noErrors }, limits);
    for (let n = 1; n <= 10; n += 1) delivery.push(message(n));
    assert.deepEqual(delivery.stats(), { received: 10, delivered: 1, dropped: 8, queued: 1, batchSize: 1 });
    await slow.release(2);
    await slow.release(2);
    assert.deepEqual(values(slow.calls), [1, 10]);
    assert.deepEqual(delivery.stats(), { received: 10, delivered: 2, dropped: 8, queued: 0, batchSize: 1 });
  });

  it('queue: the waiting messages are delivered in order; past maxQueued the oldest waiting ones are dropped', async () => {
    const slow = new SlowHandler<Message<number>>();
    const delivery = createDelivery<number>('queue', { onMessage: slow.handle, onError: noErrors }, limits);
    for (let n = 1; n <= 10; n += 1) delivery.push(message(n));
    assert.deepEqual(delivery.stats(), { received: 10, delivered: 1, dropped: 4, queued: 5, batchSize: 1 });
    for (let call = 2; call <= 6; call += 1) await slow.release(call);
    await slow.release(6);
    assert.deepEqual(values(slow.calls), [1, 6, 7, 8, 9, 10]);
    assert.deepEqual(delivery.stats(), { received: 10, delivered: 6, dropped: 4, queued: 0, batchSize: 1 });
  });

  it('slow-start with onBatch: batches of 1, 2, 4, then maxBatch while the backlog lasts; the size halves once it is gone', async () => {
    const slow = new SlowHandler<Message<number>[]>();
    const delivery = createDelivery<number>('slow-start', { onMessage: noErrors, onBatch: slow.handle, onError: noErrors }, { maxQueued: 100, maxBatch: 4 });
    for (let n = 1; n <= 12; n += 1) delivery.push(message(n));
    assert.deepEqual(delivery.stats(), { received: 12, delivered: 1, dropped: 0, queued: 11, batchSize: 1 });
    for (let call = 2; call <= 5; call += 1) await slow.release(call);
    assert.deepEqual(slow.calls.map(values), [[1], [2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12]]);
    assert.equal(delivery.stats().batchSize, 4);
    await slow.release(5);
    assert.deepEqual(delivery.stats(), { received: 12, delivered: 12, dropped: 0, queued: 0, batchSize: 2 });
    delivery.push(message(13));
    assert.deepEqual(slow.calls.at(-1)!.map((m) => m.data), [13], 'a lone message goes at once');
  });

  it('slow-start without onBatch: onMessage for each message of a batch, the next batch after all of them complete', async () => {
    const slow = new SlowHandler<Message<number>>();
    const delivery = createDelivery<number>('slow-start', { onMessage: slow.handle, onError: noErrors }, { maxQueued: 100, maxBatch: 8 });
    for (let n = 1; n <= 4; n += 1) delivery.push(message(n));
    await slow.release(3);
    assert.deepEqual(values(slow.calls), [1, 2, 3]);
    await slow.release(3);
    assert.equal(slow.calls.length, 3, 'the batch [2, 3] is not complete yet');
    await slow.release(4);
    assert.deepEqual(values(slow.calls), [1, 2, 3, 4]);
  });

  it('a handler that throws or rejects goes to onError and the next messages are still delivered', async () => {
    const errors: string[] = [];
    const handled: number[] = [];
    const delivery = createDelivery<number>(
      'queue',
      {
        onMessage: (m) => {
          handled.push(m.data);
          if (m.data === 1) throw new Error('sync failure');
          if (m.data === 2) return Promise.reject(new Error('async failure'));
          return undefined;
        },
        onError: (error) => errors.push((error as Error).message),
      },
      limits,
    );
    for (let n = 1; n <= 4; n += 1) delivery.push(message(n));
    await until(() => handled.length === 4, 10_000, 'all handled');
    assert.deepEqual([handled, errors], [[1, 2, 3, 4], ['sync failure', 'async failure']]);
    assert.deepEqual(delivery.stats(), { received: 4, delivered: 4, dropped: 0, queued: 0, batchSize: 1 });
  });

  it('a synchronous handler completes at once: nothing waits, nothing is dropped, even in drop mode', () => {
    const handled: number[] = [];
    const delivery = createDelivery<number>('drop', { onMessage: (m) => void handled.push(m.data), onError: noErrors }, limits);
    for (let n = 1; n <= 100; n += 1) delivery.push(message(n));
    assert.equal(handled.length, 100);
    assert.deepEqual(delivery.stats(), { received: 100, delivered: 100, dropped: 0, queued: 0, batchSize: 1 });
  });

  it('close: waiting messages are discarded and later ones ignored', async () => {
    const slow = new SlowHandler<Message<number>>();
    const delivery = createDelivery<number>('queue', { onMessage: slow.handle, onError: noErrors }, limits);
    for (let n = 1; n <= 3; n += 1) delivery.push(message(n));
    delivery.close();
    delivery.push(message(4));
    await slow.release(1);
    assert.deepEqual(values(slow.calls), [1]);
    assert.deepEqual(delivery.stats(), { received: 3, delivered: 1, dropped: 0, queued: 0, batchSize: 1 });
  });

  it('end to end: a subscription in drop mode behind a slow handler, a burst from the server: the first and the newest are handled, the rest counted dropped', async () => {
    const server = await startTestServer({ apps: [{ ...APP }], transport: 'node' });
    const client = new BroadcastyClient({
      url: `http://127.0.0.1:${server.port}`,
      appKey: APP.key,
      backpressure: 'drop',
      WebSocket: WebSocket as unknown as BroadcastyClientOptions['WebSocket'],
      offline: { store: 'memory' },
    });
    try {
      const slow = new SlowHandler<Message<number>>();
      const probes: unknown[] = [];
      const subscription = client.subscribe<number | string>({
        channel: 'ticks',
        onMessage: (m) => (m.data === 'probe' ? void probes.push(m.data) : slow.handle(m as Message<number>)),
      });
      client.connect();
      // Probes (handled at once) until one arrives: the subscription is live, and every earlier probe is in.
      await until(async () => {
        const seen = probes.length;
        await triggerRaw(server.port, 'ticks', 'tick', 'probe');
        return until(() => probes.length > seen, 2000, 'probe').then(() => true, () => false);
      }, 20_000, 'subscription live');
      const before = subscription.stats();
      for (let n = 1; n <= 20; n += 1) assert.equal((await triggerRaw(server.port, 'ticks', 'tick', n)).status, 200);
      await until(() => subscription.stats().received === before.received + 20, 20_000, 'burst received');
      await slow.release(2);
      await slow.release(2);
      assert.deepEqual(values(slow.calls), [1, 20]);
      assert.deepEqual(subscription.stats(), { received: before.received + 20, delivered: before.delivered + 2, dropped: 18, queued: 0, batchSize: 1 });
    } finally {
      client.disconnect();
      await server.shutdown();
    }
  });
});
