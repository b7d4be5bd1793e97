// `npm run bench -- --scenario NAME …` (see USAGE in options.ts). Black-box: talks to the
// server only over WebSocket and the signed REST API, so it also benchmarks soketi or Reverb.
import { join } from 'node:path';
import { parseOptions, UsageError, type BenchOptions } from './options.js';
import { renderComparison, renderResult, writeJson } from './report.js';
import { runBench } from './run.js';
import { REPO_ROOT } from './servers.js';

async function main(): Promise<number> {
  let opts: BenchOptions;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    console.error((err as Error).message);
    return err instanceof UsageError ? 2 : 1;
  }
  const log = (message: string): void => {
    if (!opts.quiet) console.error(message);
  };
  const report = await runBench(opts, {
    log,
    onResult: (result) => console.log(`\n${renderResult(result)}\n`),
  });
  for (const comparison of report.comparisons) console.log(`\n${renderComparison(comparison)}\n`);

  const file = opts.json ?? join(REPO_ROOT, 'bench-results', `${opts.scenarios.join('+')}-${report.startedAt.replace(/[:.]/g, '-')}.json`);
  writeJson(file, report);
  console.log(`JSON: ${file}`);
  const failures = report.results.flatMap((r) => r.failures.map((f) => `${r.scenario} @ ${r.target}: ${f}`));
  if (failures.length > 0) {
    console.error(`\n${failures.length} correctness failure(s):\n  ${failures.join('\n  ')}`);
    return 1;
  }
  return 0;
}

// Ctrl-C: exit through process 'exit' so servers.ts kills what the bench started.
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(err.stack ?? err.message);
    process.exit(1);
  },
);
