// Both engines behind one harness, so the engine tests run the same suite against LocalEngine
// and against RedisEngine on a real redis-server: what each delivered is recorded per engine.
import { after, before, describe } from 'node:test';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config/load.js';
import { createEngine } from '../../src/engine/index.js';
import type { Engine, Publication, Retention, StreamTarget } from '../../src/engine/types.js';
import { createLogger } from '../../src/logger.js';
import { until } from './cluster.js';
import { RedisServer } from './redis.js';

export const APP_ID = 'app-id';
export const LONG: Retention = { maxEvents: 1000, maxAgeMs: 3_600_000, maxBytes: 10_000_000 };

export const target = (retention: Retention = LONG, partition = 0, partitioned = false): StreamTarget => ({ partition, partitioned, retention });

/** A channel event's frame as the publish pipeline hands it over: without its closing `}` on a history channel. */
export function publication(channel: string, data: string, stream?: StreamTarget): Publication {
  const frame = `{"event":"e","data":"${data}","channel":"${channel}"`;
  return stream === undefined ? { appId: APP_ID, channel, frame: frame + '}' } : { appId: APP_ID, channel, frame, stream };
}

export interface RecordingEngine {
  engine: Engine;
  /** Frames delivered to this node's sockets, in order. */
  delivered: { channel: string; frame: string }[];
}

export interface EngineHarness {
  /** A started engine (with Redis: a node listening on the app's bus). */
  start(overrides?: Record<string, unknown>): Promise<RecordingEngine>;
  /** Resolves once `count` frames on `channel` reached the engine's node, and returns them. */
  deliveredOn(node: RecordingEngine, channel: string, count: number): Promise<string[]>;
  /** What loses every stream: a LocalEngine restart (the new engine is returned), or Redis FLUSHALL. */
  loseStreams(node: RecordingEngine): Promise<RecordingEngine>;
  /** The Redis server and a client on it; undefined for LocalEngine. */
  redis(): { server: RedisServer; client: Redis } | undefined;
}

const noChanges = { memberLeft: () => undefined, memberReturned: () => undefined, subscribersChanged: () => undefined };

async function startRecording(overrides: Record<string, unknown>): Promise<RecordingEngine> {
  const config = loadConfig({ env: {}, overrides: { logLevel: 'silent', ...overrides } });
  const engine = await createEngine(config, createLogger('silent'), { outageEventsDropped: () => undefined });
  const delivered: RecordingEngine['delivered'] = [];
  const delivery = { deliver: (_: string, channel: string, frame: string) => void delivered.push({ channel, frame }), terminateUser: () => undefined, userStatusChanged: () => undefined };
  await engine.start(delivery, noChanges);
  // RedisEngine: the app's first connection on a node subscribes the node to the app's bus.
  await engine.connectionOpened(APP_ID);
  return { engine, delivered };
}

type EngineKind = 'LocalEngine' | 'RedisEngine';

/** Runs `suite` once per engine of `kinds` (both by default), each in its own describe block. */
export function describeEngines(title: string, suite: (harness: EngineHarness) => void, kinds: EngineKind[] = ['LocalEngine', 'RedisEngine']): void {
  for (const kind of kinds) {
    describe(`${title}: ${kind}`, () => {
      let server: RedisServer | undefined;
      let client: Redis | undefined;
      const engines: Engine[] = [];
      before(async () => {
        if (kind === 'LocalEngine') return;
        server = await RedisServer.start();
        client = new Redis(server.url, { lazyConnect: true });
        client.on('error', () => undefined); // reconnects by itself after an outage test's restarts
        await client.connect();
      });
      after(async () => {
        await Promise.all(engines.map((e) => e.stop()));
        client?.disconnect();
        await server?.stop();
      });
      const start = async (overrides: Record<string, unknown> = {}) => {
        const node = await startRecording(server === undefined ? overrides : { redisUrl: server.url, ...overrides });
        engines.push(node.engine);
        return node;
      };
      suite({
        start,
        deliveredOn: async (node, channel, count) => {
          const frames = () => node.delivered.filter((d) => d.channel === channel).map((d) => d.frame);
          await until(() => frames().length >= count, 5000, `${count} frames on ${channel}`);
          return frames();
        },
        loseStreams: async (node) => {
          if (client === undefined) return start();
          await client.flushall();
          return node;
        },
        redis: () => (server === undefined || client === undefined ? undefined : { server, client }),
      });
    });
  }
}
