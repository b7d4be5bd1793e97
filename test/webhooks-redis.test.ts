// The Redis-backed webhook queue against a real redis-server: several webhook pipelines ("nodes")
// share one Redis, as the processes of a cluster do. Each webhook goes out once, leaves are
// cancelled across nodes, and pending deliveries survive a clean restart and a SIGKILL.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config/load.js';
import type { ServerConfig } from '../src/config/schema.js';
import { createLogger } from '../src/logger.js';
import { createWebhooks, type Webhooks } from '../src/webhooks/index.js';
import { freePort } from './support/cli-process.js';
import { scratchDir } from './support/scratch.js';
import { WebhookReceiver } from './support/webhook-receiver.js';

const APP = { id: 'clustered', key: 'clustered-key', secret: 'clustered-secret' };
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('webhooks with the Redis queue', () => {
  let redis: ChildProcess;
  let redisUrl: string;
  let receiver: WebhookReceiver;
  const nodes: Webhooks[] = [];

  before(async () => {
    const port = await freePort();
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    redisUrl = `redis://127.0.0.1:${port}`;
    receiver = await WebhookReceiver.start([APP]);
    // Ready once it accepts a TCP connection.
    for (let i = 0; i < 100; i++) {
      const up = await new Promise<boolean>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => resolve(socket.end() !== undefined));
        socket.on('error', () => resolve(false));
      });
      if (up) break;
      await pause(50);
    }
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await receiver.close();
    redis.kill('SIGTERM');
  });

  /** A config as every node of one cluster would load it; `prefix` keeps the tests apart. */
  function config(prefix: string, path: string, extra: Record<string, unknown> = {}): ServerConfig {
    return loadConfig({
      env: {},
      overrides: { redisUrl, redisPrefix: prefix, webhookTimeoutMs: 500, webhookDelayMs: 1000, logLevel: 'silent', apps: [{ ...APP, webhooks: [{ url: receiver.url(path) }] }], ...extra },
    });
  }

  async function node(cfg: ServerConfig, leaseMs?: number): Promise<Webhooks> {
    const webhooks = await createWebhooks({ config: cfg, log: createLogger('silent') }, { leaseMs });
    nodes.push(webhooks);
    return webhooks;
  }

  async function stop(webhooks: Webhooks): Promise<void> {
    nodes.splice(nodes.indexOf(webhooks), 1);
    await webhooks.stop();
  }

  const app = (cfg: ServerConfig) => cfg.apps[0];
  const clientEvent = (channel: string, i: number) => ({ channel, event: 'client-n', data: `{"i":${i}}`, socketId: '1.1' });
  const dataOf = (path: string, channel: string) => receiver.events(path).filter((e) => e.channel === channel).map((e) => (e as { data?: string }).data);

  it('sends each webhook once from one of two nodes, in order per channel, validly signed', async () => {
    const cfg = config('once', '/once');
    const [a, b] = await Promise.all([node(cfg), node(cfg)]);
    for (let i = 0; i < 20; i++) {
      a.observer.clientEvent(app(cfg), clientEvent('private-a', i));
      b.observer.clientEvent(app(cfg), clientEvent('private-b', i));
    }
    // One channel fed by both nodes in turn: order follows the order the events happened in.
    for (let i = 0; i < 6; i++) {
      (i % 2 === 0 ? a : b).observer.clientEvent(app(cfg), clientEvent('private-shared', i));
      await pause(15);
    }
    await receiver.until('46 events', () => receiver.events('/once').length >= 46);
    await pause(300);
    const expected = (n: number) => Array.from({ length: n }, (_, i) => `{"i":${i}}`);
    assert.deepEqual(dataOf('/once', 'private-a'), expected(20));
    assert.deepEqual(dataOf('/once', 'private-b'), expected(20));
    assert.deepEqual(dataOf('/once', 'private-shared'), expected(6));
    assert.ok(receiver.attempts('/once').every((d) => d.valid && d.status === 200));
    await Promise.all([stop(a), stop(b)]);
  });

  it('cancels a vacate on one node when another node sees the channel re-occupied within the delay', async () => {
    const cfg = config('cancel', '/cancel');
    const [a, b] = await Promise.all([node(cfg), node(cfg)]);
    a.observer.channelOccupied(app(cfg), 'bounce');
    a.observer.channelVacated(app(cfg), 'bounce');
    a.observer.memberRemoved(app(cfg), 'presence-p', 'u1');
    a.observer.channelVacated(app(cfg), 'gone');
    await pause(200);
    b.observer.channelOccupied(app(cfg), 'bounce');
    b.observer.memberAdded(app(cfg), 'presence-p', 'u1');
    await receiver.until('the vacate of "gone"', () => receiver.events('/cancel').some((e) => e.channel === 'gone'), 4000);
    await pause(400);
    assert.deepEqual(
      receiver.events('/cancel').map((e) => `${e.name}:${e.channel}`),
      ['channel_occupied:bounce', 'channel_vacated:gone'],
    );
    await Promise.all([stop(a), stop(b)]);
  });

  it('keeps pending deliveries across a clean restart: queued retries and delayed events', async () => {
    let down = true;
    receiver.behave('/restart', () => (down ? 500 : 200));
    const cfg = config('restart', '/restart');
    const a = await node(cfg);
    a.observer.channelOccupied(app(cfg), 'kept');
    a.observer.channelVacated(app(cfg), 'held');
    await receiver.until('a refused attempt', () => receiver.attempts('/restart').length >= 1);
    await stop(a);
    down = false;
    await node(cfg);
    await receiver.until('both events after the restart', () => receiver.events('/restart').length === 2, 4000);
    assert.deepEqual(receiver.events('/restart').map((e) => `${e.name}:${e.channel}`).sort(), ['channel_occupied:kept', 'channel_vacated:held']);
  });

  it('recovers the lane of a node killed mid-delivery once its claim expires', async () => {
    let answer: number | 'hang' = 'hang';
    receiver.behave('/crash', () => answer);
    const cfg = config('crash', '/crash', { webhookTimeoutMs: 60_000 });
    const dir = scratchDir('webhook-node');
    const script = join(dir, 'node.ts');
    writeFileSync(
      script,
      `import { createWebhooks } from ${JSON.stringify(new URL('../src/webhooks/index.ts', import.meta.url).pathname)};
import { createLogger } from ${JSON.stringify(new URL('../src/logger.ts', import.meta.url).pathname)};
const config = JSON.parse(process.argv[2]);
createWebhooks({ config, log: createLogger('silent') }, { leaseMs: 1500 }).then((webhooks) => webhooks.observer.channelOccupied(config.apps[0], 'orphaned'));
setInterval(() => {}, 1000);`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(cfg)], { stdio: 'ignore' });
    await receiver.until('the doomed attempt', () => receiver.attempts('/crash').length === 1, 8000);
    child.kill('SIGKILL');
    answer = 200;
    const killedAt = Date.now();
    await node(cfg);
    await receiver.until('the recovered delivery', () => receiver.delivered('/crash').length === 1, 5000);
    assert.ok(Date.now() - killedAt < 4000);
    assert.deepEqual(receiver.events('/crash').map((e) => e.channel), ['orphaned']);
  });
});
