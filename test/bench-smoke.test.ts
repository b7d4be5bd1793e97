// Smoke test of the benchmark suite (compat/bench): every scenario once at a tiny size against
// the limit server and against a Broadcasty started here. Asserts counts only (nothing lost,
// every connection established) — never timings, which depend on the machine.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { defaultOptions, SCENARIOS } from '../compat/bench/options.js';
import { Pool } from '../compat/bench/pool.js';
import type { ScenarioResult } from '../compat/bench/report.js';
import { runAgainst } from '../compat/bench/run.js';
import { broadcastyCli, startBroadcasty, startLimitServer, type Target } from '../compat/bench/servers.js';

const SUBS = 20;
const base = defaultOptions({ subs: SUBS, durationS: 0.5, rate: 20, members: 10, concurrency: 8, workersClient: 2, timeoutMs: 5000, quiet: true });
const log = (): void => undefined;

function assertCounts(result: ScenarioResult): void {
  assert.deepEqual(result.failures, [], `${result.scenario} @ ${result.target}: ${result.failures.join('; ')}`);
  assert.ok(result.rows.length > 0, 'at least one result row');
  for (const row of result.rows) {
    if ('lost' in row.values) assert.equal(row.values.lost, 0, `${row.label}: lost`);
    if ('established' in row.values) assert.equal(row.values.established, SUBS, `${row.label}: established`);
    if ('ok' in row.values) assert.equal(row.values.ok, SUBS, `${row.label}: connections ok`);
    if ('failed' in row.values) assert.equal(row.values.failed, 0, `${row.label}: failed triggers`);
    if ('rateLimited' in row.values) assert.equal(row.values.rateLimited, 0, `${row.label}: 4301`);
  }
}

const servers: Array<{ name: string; start: () => Promise<Target>; skip: string | false }> = [
  { name: 'limit server', start: startLimitServer, skip: false },
  { name: 'Broadcasty', start: startBroadcasty, skip: existsSync(broadcastyCli) ? false : 'src/cli.ts does not exist yet' },
];

describe('bench smoke', { timeout: 180_000 }, () => {
  let pool: Pool;
  before(async () => {
    pool = await Pool.start(base.workersClient!);
  });
  after(async () => {
    await pool?.stop();
  });

  for (const server of servers) {
    describe(server.name, { skip: server.skip }, () => {
      let target: Target;
      before(async () => {
        target = await server.start();
      });
      after(async () => {
        await target?.stop?.();
      });

      for (const scenario of SCENARIOS) {
        // The limit server keeps no history, so it has nothing to resume.
        it(scenario, { skip: scenario === 'resume-storm' && server.name === 'limit server' ? 'no history on the limit server' : false }, async () => {
          const [result] = await runAgainst(pool, target, { ...base, scenarios: [scenario] }, { log });
          assertCounts(result);
          if (scenario === 'idle') assert.ok(result.rows[0].values.kbPerConn !== null, 'RSS measured (pid known)');
        });
      }

      it('fanout step mode finds a sustained rate', async () => {
        const [result] = await runAgainst(pool, target, { ...base, scenarios: ['fanout'], step: true, maxSteps: 2, rate: 10 }, { log });
        assertCounts(result);
        assert.ok(result.rows.length >= 1);
        assert.ok(result.notes.some((n) => n.startsWith('peak sustained rate:')), result.notes.join('; '));
      });
    });
  }
});
