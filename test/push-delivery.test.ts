// Push delivery through the Redis lane queue (docs/PROTOCOL.md §16.6), against a real
// redis-server and the fake OneSignal API: two nodes taking sends for the same lanes deliver each
// once, and the lanes of a node killed mid-send (a child process, SIGKILL) are claimed by the
// survivor, which sends everything that was left.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { StaticAppRegistry } from '../src/apps/registry.js';
import { loadConfig } from '../src/config/load.js';
import type { ServerConfig } from '../src/config/schema.js';
import { createLogger } from '../src/logger.js';
import { Metrics } from '../src/metrics/metrics.js';
import { deviceId } from '../src/api/push-registration.js';
import { createPush, type PushService } from '../src/push/service.js';
import type { Device } from '../src/push/types.js';
import { until } from './support/cluster.js';
import { FakeOneSignal } from './support/push-fakes/onesignal.js';
import { RedisServer } from './support/redis.js';
import { scratchDir } from './support/scratch.js';

const APP = { id: 'push-app', key: 'push-key', secret: 'push-secret' };
const NOTIFICATION = { title: 'Hello', body: 'from the queue' };
const LEASE_MS = 1500;

describe('push delivery with the Redis queue', () => {
  let redis: RedisServer;
  let onesignal: FakeOneSignal;
  const nodes: PushService[] = [];

  before(async () => {
    redis = await RedisServer.start();
    onesignal = await FakeOneSignal.start(randomUUID(), 'rest-api-key');
  });
  after(async () => {
    for (const node of nodes) await node.stop();
    await onesignal.close();
    await redis.stop();
  });

  /** A config whose one app sends to OneSignal at `baseUrl`; each test its own key prefix. */
  function config(prefix: string, baseUrl = onesignal.baseUrl): ServerConfig {
    const push = { onesignal: { appId: onesignal.appId, restApiKey: onesignal.restApiKey, baseUrl } };
    return loadConfig({ env: {}, overrides: { redisUrl: redis.url, redisPrefix: prefix, logLevel: 'silent', apps: [{ ...APP, push }] } });
  }

  async function node(cfg: ServerConfig): Promise<PushService> {
    const push = await createPush({ config: cfg, registry: new StaticAppRegistry(cfg.apps), log: createLogger('silent'), outcomes: new Metrics().push }, { leaseMs: LEASE_MS });
    nodes.push(push);
    return push;
  }

  /** Devices whose subscriptions the fake knows. */
  function devices(count: number): Device[] {
    return Array.from({ length: count }, () => {
      const token = randomUUID();
      onesignal.subscribe(token);
      return { id: deviceId('onesignal', token), appId: APP.id, provider: 'onesignal', token, interests: [], createdAt: Date.now() };
    });
  }

  const deliveries = (list: Device[]) => list.map((d) => onesignal.deliveredTo(d.token).length);

  it('sends each job once when two nodes take sends for the same lanes', async () => {
    const cfg = config('two-nodes');
    const [a, b] = [await node(cfg), await node(cfg)];
    const list = devices(40);
    const app = cfg.apps[0]!;
    const [fromA, fromB] = await Promise.all([a.send(app, list.slice(0, 20), NOTIFICATION), b.send(app, list.slice(20), NOTIFICATION)]);
    assert.deepEqual([fromA.devices, fromB.devices], [20, 20]);
    await until(() => deliveries(list).every((n) => n >= 1), 10_000, 'every device reached');
    // A moment for a duplicate to show, if there were one: a second maintenance round of both nodes.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    assert.deepEqual(deliveries(list), list.map(() => 1));
  });

  it("sends what a node killed mid-send left, from the survivor, once its lanes' claims expire", async () => {
    // The doomed node's OneSignal never answers, so its sends are in flight when it dies.
    const hung: Server = createServer(() => {});
    const seen: string[] = [];
    hung.on('request', (req) => seen.push(req.url ?? ''));
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const doomedCfg = config('killed', `http://127.0.0.1:${(hung.address() as { port: number }).port}`);
    const list = devices(30);

    const script = join(scratchDir('push-node'), 'node.ts');
    const src = (path: string) => JSON.stringify(new URL(path, import.meta.url).pathname);
    writeFileSync(
      script,
      `import { StaticAppRegistry } from ${src('../src/apps/registry.ts')};
import { createLogger } from ${src('../src/logger.ts')};
import { Metrics } from ${src('../src/metrics/metrics.ts')};
import { createPush } from ${src('../src/push/service.ts')};
const [config, devices, notification] = JSON.parse(process.argv[2]);
createPush({ config, registry: new StaticAppRegistry(config.apps), log: createLogger('silent'), outcomes: new Metrics().push }, { leaseMs: ${LEASE_MS} })
  .then((push) => push.send(config.apps[0], devices, notification));
setInterval(() => {}, 1000);`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify([doomedCfg, list, NOTIFICATION])], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await until(() => seen.length > 0, 15_000, 'the doomed node sending');
    } finally {
      child.kill('SIGKILL');
      await exited;
      hung.closeAllConnections();
      hung.close();
    }

    await node(config('killed'));
    await until(() => deliveries(list).every((n) => n >= 1), 10_000, 'every device reached by the survivor');
    assert.deepEqual(deliveries(list), list.map(() => 1));
  });
});
