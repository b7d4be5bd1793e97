// The attack suite as CI runs it: `npm run chaos -- --short --start-broadcasty` against this
// repository's server (its own redis-server and 2-node cluster), one test per phase, so a
// failure names the phase and what the suite saw (crash, 5xx, loss, close code, memory).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { ALL_PHASES } from '../compat/chaos/phases/index.js';
import type { PhaseResult } from '../compat/chaos/runner.js';
import { scratchDir } from './support/scratch.js';

const REPO = new URL('..', import.meta.url).pathname;

function runChaos(args: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'compat/chaos/cli.ts', ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
  child.stderr.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
  // SIGTERM lets the suite stop the servers it started; SIGKILL only if that hangs.
  const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 10_000);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      clearTimeout(killer);
      resolve({ code, output });
    }),
  );
}

describe('chaos suite (short mode, --start-broadcasty)', { timeout: 360_000 }, () => {
  const report = join(scratchDir('chaos'), 'report.json');
  let run: { code: number | null; output: string };
  let results: PhaseResult[] = [];
  before(async () => {
    run = await runChaos(['--short', '--start-broadcasty', '--json', report], 330_000);
    if (existsSync(report)) results = (JSON.parse(readFileSync(report, 'utf8')) as { results: PhaseResult[] }).results;
  });

  it('runs every phase and writes the JSON report', () => {
    assert.deepEqual(results.map((r) => r.phase), ALL_PHASES.map((p) => p.name), run.output);
    assert.match(run.output, /\d+ passed, \d+ failed/);
  });

  for (const phase of ALL_PHASES) {
    it(`${phase.name}: no crash, 5xx, loss, wrong close code or unbounded growth`, () => {
      const result = results.find((r) => r.phase === phase.name);
      assert.ok(result, `no result for ${phase.name}:\n${run.output}`);
      assert.equal(result.notRun, undefined, `${phase.name} did not run`);
      assert.deepEqual(result.problems, [], `${phase.name} ${JSON.stringify(result.figures)}`);
    });
  }

  it('exits 0 only when every phase passed', () => {
    assert.equal(run.code, results.every((r) => r.passed) ? 0 : 1, run.output);
  });
});

describe('chaos suite guard rails', () => {
  it('refuses a non-loopback host without --allow-remote, naming the option', async () => {
    const { code, output } = await runChaos(['--host', '10.1.2.3', '--short'], 30_000);
    assert.equal(code, 2);
    assert.match(output, /--host 10\.1\.2\.3 is not a loopback address.*--allow-remote/);
  });
});
