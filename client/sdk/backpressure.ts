// One subscription's messages on their way to the app's handler when they arrive faster than it
// completes. A handler is busy until the promise it returned settles (a synchronous one completes
// at once); what arrives meanwhile waits by the mode:
//   drop        only the newest waiting message is kept; each one it replaces counts as dropped
//   queue       FIFO up to maxQueued; past it the oldest waiting one is dropped
//   slow-start  FIFO as queue, delivered in batches: 1 message first, the batch doubling (up to
//               maxBatch) while a backlog remains and halving when it has emptied
// No timers: delivery moves on when the handler completes. A handler that throws or rejects goes
// to onError and delivery continues.
import type { BackpressureMode, BackpressureStats, Delivery, Message, SubscribeOptions } from './types.js';

interface Handlers<T> {
  onMessage: SubscribeOptions<T>['onMessage'];
  onBatch?: SubscribeOptions<T>['onBatch'];
  onError: (error: unknown) => void;
}

/** How a message joins the waiting ones when the handler is busy; returns how many it dropped. */
const WAITING_RULES: Record<BackpressureMode, (waiting: Message<unknown>[], message: Message<unknown>, maxQueued: number) => number> = {
  drop: (waiting, message) => waiting.splice(0, waiting.length, message).length,
  queue: (waiting, message, maxQueued) => bounded(waiting, message, maxQueued),
  'slow-start': (waiting, message, maxQueued) => bounded(waiting, message, maxQueued),
};

function bounded(waiting: Message<unknown>[], message: Message<unknown>, maxQueued: number): number {
  waiting.push(message);
  return waiting.length > maxQueued ? waiting.splice(0, waiting.length - maxQueued).length : 0;
}

export function createDelivery<T>(mode: BackpressureMode, handlers: Handlers<T>, limits: { maxQueued: number; maxBatch: number }): Delivery<T> {
  const waiting: Message<T>[] = [];
  const counts = { received: 0, delivered: 0, dropped: 0 };
  let batchSize = 1;
  let busy = false;
  let closed = false;

  /** Runs the handler on one batch; a promise when it completes later. */
  const handle = (batch: Message<T>[]): Promise<void> | undefined => {
    if (handlers.onBatch !== undefined && mode === 'slow-start') return guarded(() => handlers.onBatch!(batch), handlers.onError);
    const later = batch.map((message) => guarded(() => handlers.onMessage(message), handlers.onError)).filter((result) => result !== undefined);
    return later.length === 0 ? undefined : Promise.all(later).then(() => undefined);
  };

  /** Delivers until nothing waits or the handler went async; then again when it completes. */
  const deliver = (): void => {
    busy = true;
    while (waiting.length > 0 && !closed) {
      const batch = waiting.splice(0, mode === 'slow-start' ? batchSize : 1);
      counts.delivered += batch.length;
      const later = handle(batch);
      if (later !== undefined) {
        void later.then(() => {
          resize();
          deliver();
        });
        return;
      }
      resize();
    }
    busy = false;
  };

  const resize = (): void => {
    if (mode !== 'slow-start') return;
    batchSize = waiting.length > 0 ? Math.min(batchSize * 2, limits.maxBatch) : Math.max(1, Math.floor(batchSize / 2));
  };

  return {
    push(message) {
      if (closed) return;
      counts.received += 1;
      counts.dropped += WAITING_RULES[mode](waiting as Message<unknown>[], message, limits.maxQueued);
      if (!busy) deliver();
    },
    stats: (): BackpressureStats => ({ ...counts, queued: waiting.length, batchSize }),
    close() {
      closed = true;
      waiting.length = 0;
    },
  };
}

/** Calls the handler; a throw goes to onError now, a rejection when it comes. Undefined when it completed synchronously. */
function guarded(call: () => void | Promise<void>, onError: (error: unknown) => void): Promise<void> | undefined {
  let result: void | Promise<void>;
  try {
    result = call();
  } catch (error) {
    onError(error);
    return undefined;
  }
  if (result === undefined || typeof (result as Promise<void>).then !== 'function') return undefined;
  return Promise.resolve(result).then(undefined, onError);
}
