// Push retries (docs/PROTOCOL.md §16.6) with the memory queue and with the Redis one, against the
// fake Web Push service: a send to be retried leaves its lane and comes back later, so a device
// whose push service refuses connections or asks for a day's Retry-After holds up no other
// device of its lane; `Retry-After: 0` still backs off (1 s, then 2 s). The backoff rule, what a
// send cut by the time limit comes to, and the 202 count of a full lane.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { StaticAppRegistry, type App } from '../src/apps/registry.js';
import { loadConfig } from '../src/config/load.js';
import { createLogger } from '../src/logger.js';
import { Metrics } from '../src/metrics/metrics.js';
import { laneOf, MAX_ATTEMPTS, retryDueAt, type PushJob } from '../src/push/delivery.js';
import { SEND_TIMEOUT_MS, unansweredOutcome } from '../src/push/providers/outcome.js';
import { generateVapidKeys } from '../src/push/providers/webpush.js';
import { deviceId } from '../src/api/push-registration.js';
import { createPush, type PushService } from '../src/push/service.js';
import { MAX_LANE_JOBS } from '../src/queue/lane-queue.js';
import type { Device } from '../src/push/types.js';
import { freePort } from './support/cli-process.js';
import { until } from './support/cluster.js';
import { FakeWebPushService, type Subscription } from './support/push-fakes/webpush.js';
import { RedisServer } from './support/redis.js';

const APP = { id: 'retry-app', key: 'retry-key', secret: 'retry-secret' };
const NOTIFICATION = { title: 'Hello', body: 'again' };

/** A subscription's device; without keys, one whose every send fails at once. */
type DeviceSource = Pick<Subscription, 'endpoint'> & Partial<Pick<Subscription, 'keys'>>;

const deviceOf = ({ endpoint, keys }: DeviceSource): Device => ({
  id: deviceId('webpush', endpoint),
  appId: APP.id,
  provider: 'webpush',
  token: endpoint,
  keys,
  interests: [],
  createdAt: Date.now(),
});

/** A device made by `make` that lands in `lane` (a quarter of them do), or with `within` false in any other. */
function inLane(lane: string, make: () => DeviceSource, within = true): Device {
  for (;;) {
    const device = deviceOf(make());
    if ((laneOf(APP.id, 'webpush', device.id) === lane) === within) return device;
  }
}

describe('the retry backoff', () => {
  const now = Date.now();
  const job: PushJob = { device: deviceOf({ endpoint: 'https://push.example/e', keys: { p256dh: 'p', auth: 'a' } }), notification: NOTIFICATION, publishId: 'p', deadline: now + 86_400_000 };

  it("waits 1 s doubling, or the provider's Retry-After when longer, never more than 60 s", () => {
    assert.equal(retryDueAt(job, undefined, now), now + 1000);
    assert.equal(retryDueAt(job, 0, now), now + 1000, 'Retry-After: 0');
    assert.equal(retryDueAt({ ...job, attempts: 3 }, 0, now), now + 8000);
    assert.equal(retryDueAt({ ...job, attempts: 1 }, 30_000, now), now + 30_000);
    assert.equal(retryDueAt(job, 86_000_000, now), now + 60_000, 'Retry-After: 86000');
    assert.equal(retryDueAt({ ...job, attempts: 9 }, undefined, now), now + 60_000);
  });

  it('gives up after MAX_ATTEMPTS attempts, or when the next one would come after the deadline', () => {
    assert.notEqual(retryDueAt({ ...job, attempts: MAX_ATTEMPTS - 2 }, undefined, now), undefined);
    assert.equal(retryDueAt({ ...job, attempts: MAX_ATTEMPTS - 1 }, undefined, now), undefined);
    assert.equal(retryDueAt({ ...job, deadline: now + 999 }, undefined, now), undefined);
    assert.equal(retryDueAt({ ...job, deadline: now + 5000 }, 10_000, now), undefined);
  });
});

describe('an attempt without an answer', () => {
  it('is "no answer in 15 s" whichever timer fired, the caller\'s or the provider\'s; "aborted" on a stop', () => {
    const noAnswer = { kind: 'retry', reason: `webpush: no answer in ${SEND_TIMEOUT_MS / 1000} s` };
    const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    assert.deepEqual(unansweredOutcome('webpush', timeout, AbortSignal.abort(timeout)), noAnswer);
    assert.deepEqual(unansweredOutcome('webpush', timeout, new AbortController().signal), noAnswer);
    assert.deepEqual(unansweredOutcome('webpush', new Error('stopped'), AbortSignal.abort()), { kind: 'retry', reason: 'webpush: aborted' });
    assert.equal(SEND_TIMEOUT_MS, 15_000);
  });
});

for (const queue of ['memory', 'redis'] as const) {
  describe(`push retries with the ${queue} queue`, () => {
    const vapid = generateVapidKeys();
    const metrics = new Metrics();
    let redis: RedisServer | undefined;
    let service: FakeWebPushService;
    let push: PushService;
    let app: App;

    before(async () => {
      if (queue === 'redis') redis = await RedisServer.start();
      service = await FakeWebPushService.start(vapid.publicKey);
      const config = loadConfig({
        env: {},
        overrides: { ...(redis === undefined ? {} : { redisUrl: redis.url }), logLevel: 'silent', apps: [{ ...APP, push: { webpush: { ...vapid, subject: 'mailto:ops@shop.example' } } }] },
      });
      app = config.apps[0]!;
      push = await createPush({ config, registry: new StaticAppRegistry(config.apps), log: createLogger('silent'), outcomes: metrics.push });
    });
    after(async () => {
      await push.stop();
      await service.close();
      await redis?.stop();
    });

    /** The lane the full-lane case fills (memory queue). */
    const fullLane = laneOf(APP.id, 'webpush', randomUUID());
    const retried = async () => Number(/ (\d+)$/.exec((await metrics.registry.getSingleMetricAsString('broadcasty_push_retried_total')).split('\n').find((l) => l.includes(APP.id)) ?? '')?.[1] ?? 0);
    const statuses = (device: Device) => service.received.filter((p) => p.endpoint === device.token).map((p) => p.status);

    it("a device whose push service refuses connections or asks for a day's Retry-After holds up no other device of its lane", async () => {
      const lane = laneOf(APP.id, 'webpush', randomUUID());
      const closed = `http://127.0.0.1:${await freePort()}`;
      const refusing = inLane(lane, () => ({ ...service.subscribe(), endpoint: `${closed}/wpush/v2/${randomUUID()}` }));
      const busy = inLane(lane, () => service.subscribe());
      service.script(busy.token, () => ({ status: 503, headers: { 'Retry-After': '86000' } }));
      const before = await retried();
      assert.equal((await push.send(app, [refusing, busy], NOTIFICATION)).devices, 2);
      await until(async () => (await retried()) >= before + 2, 5000, 'both answered "retry"');

      const later = inLane(lane, () => service.subscribe());
      await push.send(app, [later], NOTIFICATION);
      await until(() => statuses(later).length === 1, 5000, 'the later device of the same lane reached');
      assert.deepEqual(statuses(later), [201]);
      assert.deepEqual(statuses(busy), [503], 'the busy one waits (60 s at most), out of the lane');
      // The refusing one comes back from the queue for its second attempt a second later.
      await until(async () => (await retried()) >= before + 3, 5000, 'the refusing device retried');
    });

    // The memory queue answers at once; the Redis queue's answer comes later (a full lane is logged
    // there), so its count is what was handed to it (docs/PROTOCOL.md §16.3).
    if (queue === 'memory') {
      it('counts in its 202 only the sends the queue took: a full lane refuses the rest', async () => {
        const lane = fullLane;
        // Keyless: each send fails at once, without a request, so the lane empties quickly afterwards.
        const keyless = Array.from({ length: MAX_LANE_JOBS + 20 }, () => inLane(lane, () => ({ endpoint: `https://push.example/${randomUUID()}` })));
        assert.equal((await push.send(app, keyless, NOTIFICATION)).devices, MAX_LANE_JOBS);
      });
    }

    it('backs off after Retry-After: 0 (1 s, then 2 s) and then sends', async () => {
      // Not behind the full-lane case's 10,000 jobs, which a loaded machine takes longer to drain than the wait.
      const device = inLane(fullLane, () => service.subscribe(), false);
      const arrivals: number[] = [];
      service.script(device.token, (n) => {
        arrivals.push(Date.now());
        return n <= 2 ? { status: 503, headers: { 'Retry-After': '0' } } : undefined;
      });
      await push.send(app, [device], NOTIFICATION);
      await until(() => statuses(device).length === 3, 30_000, 'the third attempt');
      assert.deepEqual(statuses(device), [503, 503, 201]);
      // Lower bounds the server promises (no tight loop), not a speed: a slow machine only adds to them.
      const [first, second, third] = arrivals as [number, number, number];
      assert.ok(second - first >= 1000, `second attempt ${second - first} ms after the first`);
      assert.ok(third - second >= 2000, `third attempt ${third - second} ms after the second`);
    });
  });
}
