// History memory per stored event in both engines (issue 13's "memory" figure): 100k events with
// a 200-byte payload on one history channel, kept whole by the retention. LocalEngine: heapUsed
// after minus before a full GC, per event. RedisEngine (a redis-server spawned on a free port):
// MEMORY USAGE of the history stream per event. Unlike the rest of compat/bench this measures the
// engine in process, so it imports src/. Run: npx tsx compat/bench/history-memory.ts
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config/load.js';
import { createEngine } from '../../src/engine/index.js';
import { RedisKeys } from '../../src/engine/redis-keys.js';
import type { Engine, StreamTarget } from '../../src/engine/types.js';
import { createLogger } from '../../src/logger.js';
import { RedisServer } from '../../test/support/redis.js';

const EVENTS = 100_000;
const PAYLOAD_BYTES = 200;
const CHANNEL = 'private-orders.1';
const APP_ID = 'bench';
const stream: StreamTarget = { partition: 0, partitioned: false, retention: { maxEvents: EVENTS, maxAgeMs: 3_600_000, maxBytes: 1e12 } };

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Each frame a string of its own, as the publish pipeline encodes one per publish. */
function frame(i: number): string {
  const data = JSON.stringify({ id: i, body: 'x'.repeat(PAYLOAD_BYTES - 20 - String(i).length) });
  return `{"event":"order.updated","data":${JSON.stringify(data)},"channel":"${CHANNEL}"`;
}

async function startEngine(overrides: Record<string, unknown>): Promise<Engine> {
  const config = loadConfig({ env: {}, overrides: { logLevel: 'silent', ...overrides } });
  const engine = await createEngine(config, createLogger('silent'), { outageEventsDropped: () => undefined });
  const nothing = () => undefined;
  await engine.start({ deliver: nothing, terminateUser: nothing, userStatusChanged: nothing }, { memberLeft: nothing, memberReturned: nothing, subscribersChanged: nothing });
  return engine;
}

async function publishAll(engine: Engine, batch: number): Promise<void> {
  for (let i = 0; i < EVENTS; i += batch) {
    const publishes = [];
    for (let j = i; j < Math.min(i + batch, EVENTS); j += 1) publishes.push(engine.publish({ appId: APP_ID, channel: CHANNEL, frame: frame(j), stream }));
    await Promise.all(publishes);
  }
}

async function local(): Promise<number> {
  const engine = await startEngine({});
  gc();
  const before = process.memoryUsage().heapUsed;
  await publishAll(engine, 1000);
  gc();
  const after = process.memoryUsage().heapUsed;
  const read = await engine.readHistory(APP_ID, CHANNEL, 0, 1, 1, stream.retention);
  if (read.first !== 1 || read.position.offset !== EVENTS) throw new Error(`LocalEngine kept ${read.position.offset - read.first + 1} events, not ${EVENTS}`);
  await engine.stop();
  return (after - before) / EVENTS;
}

async function redis(): Promise<number> {
  const server = await RedisServer.start();
  const engine = await startEngine({ redisUrl: server.url });
  const client = new Redis(server.url);
  try {
    await publishAll(engine, 1000);
    const key = new RedisKeys('broadcasty').app(APP_ID, 'history', CHANNEL);
    const [count, bytes] = await Promise.all([client.xlen(key), client.call('MEMORY', 'USAGE', key, 'SAMPLES', '0') as Promise<number>]);
    if (count !== EVENTS) throw new Error(`Redis kept ${count} events, not ${EVENTS}`);
    return bytes / count;
  } finally {
    client.disconnect();
    await engine.stop();
    await server.stop();
  }
}

const frameLength = (frame(EVENTS - 1) + ',"offset":100000,"epoch":"1764650000123456"}').length;
console.log(`history memory per stored event: ${EVENTS} events, ${PAYLOAD_BYTES}-byte payload, ${frameLength}-character frames`);
console.log(`  LocalEngine  ${(await local()).toFixed(0)} bytes/event (V8 heapUsed delta after GC)`);
console.log(`  RedisEngine  ${(await redis()).toFixed(0)} bytes/event (MEMORY USAGE of the history stream, SAMPLES 0)`);
