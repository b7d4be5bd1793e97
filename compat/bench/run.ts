// Runs scenarios against targets. Shared by the CLI and test/bench-smoke.test.ts.
import { cpus, totalmem } from 'node:os';
import { workerCount, type BenchOptions, type ScenarioName } from './options.js';
import { Pool } from './pool.js';
import { compare, type Comparison, type ScenarioResult } from './report.js';
import { connect } from './scenarios/connect.js';
import type { Scenario } from './scenarios/common.js';
import { fanout } from './scenarios/fanout.js';
import { idle } from './scenarios/idle.js';
import { fanoutKinds, idleKinds } from './scenarios/kinds.js';
import { presence } from './scenarios/presence.js';
import { publish } from './scenarios/publish.js';
import { resumeStorm } from './scenarios/resume-storm.js';
import { whisper } from './scenarios/whisper.js';
import { pinCpus, startBroadcasty, startLimitServer, startRedis, type Target } from './servers.js';

export const scenarios: Record<ScenarioName, Scenario> = {
  idle,
  connect,
  fanout,
  publish,
  presence,
  whisper,
  'resume-storm': resumeStorm,
  'fanout-kinds': fanoutKinds,
  'idle-kinds': idleKinds,
};

export interface BenchReport {
  startedAt: string;
  machine: { cpus: number; memGb: number; node: string };
  options: BenchOptions;
  results: ScenarioResult[];
  comparisons: Comparison[];
}

export interface Hooks {
  log(message: string): void;
  onResult?(result: ScenarioResult): void;
}

/** Runs every selected scenario against one target; a scenario that throws becomes a failed result. */
export async function runAgainst(pool: Pool, target: Target, opts: BenchOptions, hooks: Hooks): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  for (const name of opts.scenarios) {
    hooks.log(`${name} @ ${target.label} (${target.host}:${target.port})`);
    let result: ScenarioResult;
    try {
      result = await scenarios[name]({ pool, target, opts, log: hooks.log });
    } catch (err) {
      result = { scenario: name, target: target.label, params: {}, columns: [], rows: [], notes: [], failures: [`error: ${(err as Error).message}`] };
    } finally {
      await pool.closeAll().catch(() => undefined); // leave no connections behind for the next scenario
    }
    const death = target.died?.();
    if (death) result.failures.push(death);
    results.push(result);
    hooks.onResult?.(result);
    if (death) break; // every further scenario would only repeat ECONNREFUSED
  }
  return results;
}

async function runAgainstLimit(pool: Pool, opts: BenchOptions, hooks: Hooks, variant: { verifySignatures?: boolean }): Promise<ScenarioResult[]> {
  const limit = await startLimitServer(variant);
  try {
    return await runAgainst(pool, limit, opts, hooks);
  } finally {
    await limit.stop?.();
  }
}

/** The target named on the command line, or a Broadcasty this run starts (--start-broadcasty). */
export async function resolveTarget(opts: BenchOptions): Promise<Target> {
  if (opts.startBroadcasty) return startBroadcasty();
  return { label: `${opts.host}:${opts.port}`, host: opts.host, port: opts.port, appId: opts.appId, key: opts.key, secret: opts.secret, pid: opts.serverPid };
}

export async function runBench(opts: BenchOptions, hooks: Hooks): Promise<BenchReport> {
  const report: BenchReport = {
    startedAt: new Date().toISOString(),
    machine: { cpus: cpus().length, memGb: Math.round(totalmem() / 2 ** 30), node: process.version },
    options: opts,
    results: [],
    comparisons: [],
  };
  if (opts.pin) pinCpus();
  const pool = await Pool.start(workerCount(opts, opts.subs ?? 1000));
  try {
    let limitResults: ScenarioResult[] = [];
    if (opts.vsLimit || opts.limitOnly) {
      limitResults = await runAgainstLimit(pool, opts, hooks, {});
      // HTTP publishing is compared with a limit that also checks signatures: what no real server may skip.
      if (opts.scenarios.includes('publish')) limitResults.push(...(await runAgainstLimit(pool, { ...opts, scenarios: ['publish'] }, hooks, { verifySignatures: true })));
      report.results.push(...limitResults);
    }
    if (opts.limitOnly) return report;
    const measure = async (target: Target) => {
      try {
        const targetResults = await runAgainst(pool, target, opts, hooks);
        report.results.push(...targetResults);
        for (const result of targetResults) {
          for (const base of limitResults.filter((r) => r.scenario === result.scenario)) {
            if (result.rows.length > 0) report.comparisons.push(compare(base, result));
          }
        }
      } finally {
        await target.stop?.();
      }
    };
    if (opts.cluster === undefined) await measure(await resolveTarget(opts));
    else {
      const redis = await startRedis();
      try {
        for (const workers of opts.cluster) await measure(await startBroadcasty({ workers, redisUrl: redis.url }));
      } finally {
        await redis.stop();
      }
    }
  } finally {
    await pool.stop();
  }
  return report;
}
