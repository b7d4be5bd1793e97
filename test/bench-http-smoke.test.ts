// Smoke test of the bench's subscriber-kind scenarios (compat/bench/scenarios/kinds.ts) at a tiny
// size against a Broadcasty in this process: WebSocket, SSE and xhr_streaming clients each get
// every published event (lost = 0), and the correctness check fails when sessions cannot open.
// Counts only, never timings.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultOptions } from '../compat/bench/options.js';
import { Pool } from '../compat/bench/pool.js';
import { runAgainst } from '../compat/bench/run.js';
import { DEV_APP, type Target } from '../compat/bench/servers.js';
import type { RunningServer } from '../src/server.js';
import { startTestServer } from './support/in-process.js';

const SUBS = 12;
// 5 sessions per source address: the 12 of each kind need 3 addresses, so the spreading is exercised.
const base = defaultOptions({ subs: SUBS, durationS: 0.5, rate: 10, concurrency: 4, workersClient: 2, timeoutMs: 5000, sessionsPerIp: 5, quiet: true });
const log = (): void => undefined;

describe('bench subscriber kinds', { timeout: 60_000 }, () => {
  let pool: Pool;
  let server: RunningServer;
  let target: Target;
  before(async () => {
    server = await startTestServer({ maxHttpSessionsPerIp: 5 });
    target = { label: 'broadcasty in-process', host: '127.0.0.1', port: server.port, ...DEV_APP };
    pool = await Pool.start(base.workersClient!);
  });
  after(async () => {
    await pool?.stop();
    await server?.shutdown();
  });

  it('fanout-kinds: every ws, sse and xhr_streaming subscriber gets every event', async () => {
    const [result] = await runAgainst(pool, target, { ...base, scenarios: ['fanout-kinds'] }, { log });
    assert.deepEqual(result.failures, []);
    assert.deepEqual(result.rows.map((r) => r.label), ['ws 10/s', 'sse 10/s', 'xhr_streaming 10/s']);
    for (const row of result.rows) {
      assert.ok((row.values.published ?? 0) > 0, `${row.label}: published`);
      assert.equal(row.values.lost, 0, `${row.label}: lost`);
    }
  });

  it('fanout-kinds: sessions that cannot open are a correctness failure', async () => {
    const [result] = await runAgainst(pool, target, { ...base, scenarios: ['fanout-kinds'], kinds: ['xhr'], httpPath: '/not-pusher' }, { log });
    assert.equal(result.failures.length, 1, result.failures.join('; '));
    assert.match(result.failures[0], new RegExp(`^${SUBS} of ${SUBS} connections did not subscribe`));
  });

  it('idle-kinds: every session of every kind is established', async () => {
    const [result] = await runAgainst(pool, target, { ...base, scenarios: ['idle-kinds'], kinds: ['sse', 'xhr'] }, { log });
    assert.deepEqual(result.failures, []);
    assert.deepEqual(
      result.rows.map((r) => [r.label, r.values.established]),
      [[`sse: ${SUBS} subscribed`, SUBS], [`xhr_streaming: ${SUBS} subscribed`, SUBS]],
    );
  });
});
