// Smoke test of the benchmark suite (compat/bench): every scenario once at a tiny size against
// the limit server and against a Broadcasty started here. Asserts counts only (nothing lost,
// every connection established) — never timings, which depend on the machine.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { defaultOptions, SCENARIOS, type ScenarioName } from '../compat/bench/options.js';
import { Pool } from '../compat/bench/pool.js';
import type { ScenarioResult } from '../compat/bench/report.js';
import { runAgainst } from '../compat/bench/run.js';
import { signedQuery } from '../compat/bench/sign.js';
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

const servers: Array<{ name: string; start: () => Promise<Target>; scenarios: readonly ScenarioName[]; skip: string | false }> = [
  // The limit server keeps no history: it has nothing to resume.
  { name: 'limit server', start: () => startLimitServer(), scenarios: SCENARIOS.filter((s) => s !== 'resume-storm'), skip: false },
  // The bench's signed triggers must pass its own check, or the publish comparison would count 401s.
  { name: 'limit server checking signatures', start: () => startLimitServer({ verifySignatures: true }), scenarios: ['publish'], skip: false },
  { name: 'Broadcasty', start: startBroadcasty, scenarios: SCENARIOS, skip: existsSync(broadcastyCli) ? false : 'src/cli.ts does not exist yet' },
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

      for (const scenario of server.scenarios) {
        it(scenario, async () => {
          const [result] = await runAgainst(pool, target, { ...base, scenarios: [scenario] }, { log });
          assertCounts(result);
          if (scenario === 'idle') assert.ok(result.rows[0].values.kbPerConn !== null, 'RSS measured (pid known)');
        });
      }

      if (server.scenarios.includes('fanout')) {
        it('fanout step mode finds a sustained rate', async () => {
          const [result] = await runAgainst(pool, target, { ...base, scenarios: ['fanout'], step: true, maxSteps: 2, rate: 10 }, { log });
          assertCounts(result);
          assert.ok(result.rows.length >= 1);
          assert.ok(result.notes.some((n) => n.startsWith('peak sustained rate:')), result.notes.join('; '));
        });
      }

      if (server.name === 'limit server checking signatures') {
        it('refuses a publish whose body does not match its signature', async () => {
          const path = `/apps/${target.appId}/events`;
          const query = signedQuery('POST', path, '{"name":"a","channel":"c","data":"1"}', target.key, target.secret);
          const res = await fetch(`http://${target.host}:${target.port}${path}?${query}`, { method: 'POST', body: '{"name":"a","channel":"c","data":"2"}' });
          assert.equal(res.status, 401);
        });
      }
    });
  }
});
