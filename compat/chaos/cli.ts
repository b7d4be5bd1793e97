// `npm run chaos -- --host H --port P --app-id ID --key K --secret S [--short] [--start-broadcasty]
//   [--pid PID[,PID]] [--only REGEX] [--json FILE] [--allow-remote]`
// The standing attack suite: runs every phase against one server (or, with --start-broadcasty,
// against a redis-server and a 2-node Broadcasty cluster it starts itself), prints one line per
// phase and `N passed, M failed`, and exits 1 on any crash, 5xx, loss, wrong close code or
// unbounded memory growth.
import { writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { warmUp } from './phases/frames.js';
import { ALL_PHASES } from './phases/index.js';
import { startDeployment, type Deployment } from './processes.js';
import { formatPhase, runPhase, summarize, totalRssKb, type ChaosTarget, type PhaseResult, type ProcessControl } from './runner.js';

const USAGE = `usage: npm run chaos -- --host H --port P --app-id ID --key K --secret S [--short] [--pid PID[,PID...]]
         [--start-broadcasty] [--only REGEX] [--json FILE] [--allow-remote]
  --short             ~2 minutes (CI); default is the full run (>= 1,000,000 frames, >= 100,000 HTTP requests)
  --start-broadcasty  start redis-server and a 2-node Broadcasty cluster from this repository and attack
                      that (enables the fault phases: Redis and node kill/stall); ignores host/port/app
  --pid               server pid(s) to read RSS from (/proc/PID/status VmRSS)
  --settle-ms         how long RSS may take to come back within 10% after a phase (default 15000 short, 60000 full)
  --strict            RFC departures at the framing layer (Close codes for malformed frames, HTTP/1.x
                      requests dropped unanswered) fail their phase instead of being reported
  --allow-remote      allow a non-loopback --host (traffic is hostile: only at servers you own)`;

const FLAGS = new Set(['short', 'strict', 'start-broadcasty', 'allow-remote', 'help']);
const VALUED = new Set(['host', 'port', 'app-id', 'key', 'secret', 'pid', 'only', 'json', 'settle-ms']);

interface ChaosOptions {
  target: ChaosTarget;
  short: boolean;
  strict: boolean;
  startBroadcasty: boolean;
  pids: number[];
  only?: RegExp;
  json?: string;
  settleMs?: number;
  help: boolean;
}

function parseArgs(argv: string[]): ChaosOptions {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (FLAGS.has(name)) values.set(name, 'true');
    else if (!VALUED.has(name)) throw new Error(`unknown option --${name}`);
    else if (eq > 0) values.set(name, arg.slice(eq + 1));
    else if (i + 1 < argv.length) values.set(name, argv[++i]);
    else throw new Error(`--${name} needs a value`);
  }
  const host = values.get('host') ?? '127.0.0.1';
  if (!values.has('allow-remote') && !isLoopback(host)) throw new Error(`--host ${host} is not a loopback address; the suite sends hostile traffic, pass --allow-remote for a server you own`);
  const port = Number(values.get('port') ?? 6001);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`--port must be a port number (1-65535), got ${values.get('port')}`);
  const settleMs = values.has('settle-ms') ? Number(values.get('settle-ms')) : undefined;
  if (settleMs !== undefined && !(Number.isInteger(settleMs) && settleMs >= 0)) throw new Error(`--settle-ms must be a whole number of milliseconds, got ${values.get('settle-ms')}`);
  const pids = (values.get('pid') ?? '').split(',').filter(Boolean).map(Number);
  if (pids.some((pid) => !Number.isInteger(pid) || pid <= 0)) throw new Error(`--pid must be process ids separated by commas, got ${values.get('pid')}`);
  return {
    target: { host, port, ports: [port], appId: values.get('app-id') ?? 'app-id', key: values.get('key') ?? 'app-key', secret: values.get('secret') ?? 'app-secret' },
    short: values.has('short'),
    strict: values.has('strict'),
    startBroadcasty: values.has('start-broadcasty'),
    pids,
    only: values.has('only') ? new RegExp(values.get('only')!, 'i') : undefined,
    json: values.get('json'),
    settleMs,
    help: values.has('help'),
  };
}

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '[::1]';
}

/** --pid without process control: RSS and "is it alive" only. */
function observedPids(pids: number[]): ProcessControl | undefined {
  if (pids.length === 0) return undefined;
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  return { pids: () => pids, died: () => pids.filter((p) => !alive(p)).map((p) => `server pid ${p} is gone`)[0] ?? null, takeLogErrors: () => [] };
}

async function main(): Promise<number> {
  let options: ChaosOptions;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  const started = new Date();
  let deployment: Deployment | undefined;
  if (options.startBroadcasty) deployment = await startDeployment((line) => console.log(line));
  const target = deployment?.target ?? options.target;
  const control = deployment?.control ?? observedPids(options.pids);
  const results: PhaseResult[] = [];
  try {
    await warmUp({ target, short: options.short, process: control, sampleMemory: () => undefined });
    const workingKb = totalRssKb(control?.pids() ?? []) ?? undefined;
    for (const phase of ALL_PHASES.filter((p) => !options.only || options.only.test(p.name))) {
      const result = await runPhase(phase, target, { short: options.short, strict: options.strict, process: control, settleMs: options.settleMs ?? (options.short ? 15_000 : 60_000), workingKb });
      results.push(result);
      console.log(formatPhase(result));
      if (control?.died()) await deployment?.restartCrashed();
    }
  } finally {
    await deployment?.stop();
  }
  const summary = summarize(results);
  console.log(summary);
  if (options.json) {
    const report = {
      target: { host: target.host, ports: target.ports, appId: target.appId, key: target.key },
      mode: options.short ? 'short' : 'full',
      startBroadcasty: options.startBroadcasty,
      startedAt: started.toISOString(),
      durationMs: Date.now() - started.getTime(),
      summary,
      results,
    };
    writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
  }
  return results.every((r) => r.passed) ? 0 : 1;
}

// Interrupted: exit through process.exit so the 'exit' hooks kill the servers and redis-server we started.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

// Sockets of an aborted phase may keep the loop alive; the run is over, so exit.
main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  },
);
