// Command-line options of `npm run bench`. Scenario-specific defaults live with the scenario
// (a value of undefined here means "use the scenario's default").
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { TRANSPORTS, type Transport } from './ipc.js';

// idle first: with --scenario all it then measures RSS over a server that has not served load yet.
export const SCENARIOS = ['idle', 'connect', 'fanout', 'publish', 'presence', 'whisper', 'resume-storm'] as const;
/**
 * Broadcasty's HTTP subscriber kinds (SSE, pusher-js xhr_streaming) beside WebSockets on one server.
 * Not in `all`, which any Pusher-compatible server (and the limit server) can run.
 */
export const KIND_SCENARIOS = ['fanout-kinds', 'idle-kinds'] as const;
export type ScenarioName = (typeof SCENARIOS)[number] | (typeof KIND_SCENARIOS)[number];

export interface BenchOptions {
  host: string;
  port: number;
  appId: string;
  key: string;
  secret: string;
  scenarios: ScenarioName[];
  subs?: number;
  rate?: number;
  durationS: number;
  json?: string;
  vsLimit: boolean;
  /** Only measure the limit server (the ceiling), no target. */
  limitOnly: boolean;
  startBroadcasty: boolean;
  /** With --start-broadcasty: run once per entry with that many workers on one Redis (e.g. [1, 2]). */
  cluster?: number[];
  serverPid?: number;
  workersClient?: number;
  /** Servers the bench starts run on CPU 0, the bench and its load generators on the others. */
  pin: boolean;
  /** fanout: raise the rate step by step until messages are lost. */
  step: boolean;
  stepFactor: number;
  maxSteps: number;
  /** fanout step mode: a step whose p99 exceeds this (ms) counts as not sustained. */
  maxP99Ms: number;
  concurrency?: number;
  payloadBytes: number;
  /** presence/whisper: connections per channel. */
  members?: number;
  /** whisper: client events per second per connection (servers default to a 10/s limit). */
  clientRate: number;
  /** fanout-kinds, idle-kinds: the transports measured, in this order. */
  kinds: Transport[];
  /** pusher-js's httpPath, where the server serves xhr_streaming (its setting of the same name). */
  httpPath: string;
  /** HTTP sessions per source address: at most the server's maxHttpSessionsPerIp (default 100). */
  sessionsPerIp: number;
  timeoutMs: number;
  quiet: boolean;
}

export const USAGE = `Usage: npm run bench -- --scenario NAME[,NAME…|all] [options]

Target:   --host H (127.0.0.1) --port P (6001) --app-id ID --key K --secret S
          --start-broadcasty     build (tsc) and start Broadcasty on a free port (dev app) instead of --host/--port
          --vs-limit             run against the bare uWS limit server first, print target/limit ratios
          --limit-only           run against the limit server only
          --server-pid PID       target pid for RSS (idle scenario) when the bench did not start it
          --cluster 1,2          with --start-broadcasty: start redis-server, then run once per entry
                                 with Broadcasty on that many workers (one port, SO_REUSEPORT) on it
Scenarios: ${SCENARIOS.join(', ')} (all = these)
          ${KIND_SCENARIOS.join(', ')}: the same over each of --kinds on one server
          (Broadcasty only: SSE and pusher-js xhr_streaming; not with --vs-limit)
Kinds:    --kinds ws,sse,xhr (all three)  --http-path P (/pusher, pusher-js httpPath)
          --sessions-per-ip N (100: HTTP sessions per source address, at most the
                                 server's maxHttpSessionsPerIp)
Load:     --subs N (resume-storm 10000)  --rate R  --duration S (5)  --concurrency N  --payload BYTES (100)
          --members N (presence 100, whisper 10)  --client-rate R (9 per connection)
          --step [--step-factor 2] [--max-steps 8] [--max-p99 1000]   (fanout peak search)
          --workers-client N (load-generator processes; default: cores, more for many connections)
          --pin                  servers the bench starts on CPU 0, load generators on the other
                                 CPUs (taskset): on a small box, steadier ratios run to run
Output:   --json FILE  --quiet  --timeout MS (per connection step, 10000)`;

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '6001' },
      'app-id': { type: 'string', default: 'app-id' },
      key: { type: 'string', default: 'app-key' },
      secret: { type: 'string', default: 'app-secret' },
      scenario: { type: 'string' },
      subs: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string', default: '5' },
      json: { type: 'string' },
      'vs-limit': { type: 'boolean', default: false },
      'limit-only': { type: 'boolean', default: false },
      'start-broadcasty': { type: 'boolean', default: false },
      cluster: { type: 'string' },
      'server-pid': { type: 'string' },
      'workers-client': { type: 'string' },
      pin: { type: 'boolean', default: false },
      step: { type: 'boolean', default: false },
      'step-factor': { type: 'string', default: '2' },
      'max-steps': { type: 'string', default: '8' },
      'max-p99': { type: 'string', default: '1000' },
      concurrency: { type: 'string' },
      payload: { type: 'string', default: '100' },
      members: { type: 'string' },
      'client-rate': { type: 'string', default: '9' },
      kinds: { type: 'string', default: TRANSPORTS.join(',') },
      'http-path': { type: 'string', default: '/pusher' },
      'sessions-per-ip': { type: 'string', default: '100' },
      timeout: { type: 'string', default: '10000' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || !values.scenario) throw new UsageError(USAGE);
  const names = values.scenario === 'all' ? [...SCENARIOS] : values.scenario.split(',').map((s) => s.trim());
  const known: readonly string[] = [...SCENARIOS, ...KIND_SCENARIOS];
  for (const name of names) if (!known.includes(name)) throw new UsageError(`unknown scenario "${name}"\n\n${USAGE}`);
  const kindScenarios = names.filter((n) => (KIND_SCENARIOS as readonly string[]).includes(n));
  if (kindScenarios.length > 0 && (values['vs-limit'] || values['limit-only'])) {
    throw new UsageError(`${kindScenarios.join(', ')} cannot run --vs-limit/--limit-only: the limit server speaks WebSocket only`);
  }
  const kinds = values.kinds!.split(',').map((k) => k.trim());
  for (const kind of kinds) if (!(TRANSPORTS as readonly string[]).includes(kind)) throw new UsageError(`--kinds takes ${TRANSPORTS.join(', ')}; got "${kind}"`);
  const httpPath = values['http-path']!;
  if (!/^\/[^?#]*[^/?#]$/.test(httpPath)) throw new UsageError(`--http-path must start with / and not end with one, got ${httpPath}`);
  const host = values.host!;
  // Traffic only ever goes to loopback; the source-address spreading relies on it too.
  if (!/^127\.\d+\.\d+\.\d+$/.test(host) && host !== 'localhost') throw new UsageError(`--host must be a loopback address (127.x.x.x), got ${host}`);
  if (values.pin && values.cluster !== undefined) throw new UsageError('--pin puts every server process on CPU 0, so it cannot measure --cluster; drop one of them');
  if (values.pin && cpus().length < 2) throw new UsageError(`--pin needs at least 2 CPUs, this machine has ${cpus().length}`);
  return {
    host: host === 'localhost' ? '127.0.0.1' : host,
    port: int(values.port!, 'port'),
    appId: values['app-id']!,
    key: values.key!,
    secret: values.secret!,
    scenarios: names as ScenarioName[],
    subs: optInt(values.subs, 'subs'),
    rate: optNum(values.rate, 'rate'),
    durationS: num(values.duration!, 'duration'),
    json: values.json,
    vsLimit: values['vs-limit']!,
    limitOnly: values['limit-only']!,
    startBroadcasty: values['start-broadcasty']! || values.cluster !== undefined,
    cluster: values.cluster?.split(',').map((n) => int(n.trim(), 'cluster')),
    serverPid: optInt(values['server-pid'], 'server-pid'),
    workersClient: optInt(values['workers-client'], 'workers-client'),
    pin: values.pin!,
    step: values.step!,
    stepFactor: num(values['step-factor']!, 'step-factor'),
    maxSteps: int(values['max-steps']!, 'max-steps'),
    maxP99Ms: num(values['max-p99']!, 'max-p99'),
    concurrency: optInt(values.concurrency, 'concurrency'),
    payloadBytes: int(values.payload!, 'payload'),
    members: optInt(values.members, 'members'),
    clientRate: num(values['client-rate']!, 'client-rate'),
    kinds: kinds as Transport[],
    httpPath,
    sessionsPerIp: int(values['sessions-per-ip']!, 'sessions-per-ip'),
    timeoutMs: int(values.timeout!, 'timeout'),
    quiet: values.quiet!,
  };
}

/** Default option values, for callers (tests) that build options without a command line. */
export function defaultOptions(overrides: Partial<BenchOptions> = {}): BenchOptions {
  return { ...parseOptions(['--scenario', 'fanout']), ...overrides };
}

/** Load-generator processes: one per core, more when connections would crowd one process's fds. */
export function workerCount(opts: BenchOptions, connections: number): number {
  return opts.workersClient ?? Math.max(Math.min(cpus().length, 4), Math.ceil(connections / 15_000));
}

export class UsageError extends Error {}

function num(text: string, name: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`--${name} must be a positive number, got ${text}`);
  return value;
}
function int(text: string, name: string): number {
  const value = num(text, name);
  if (!Number.isInteger(value)) throw new UsageError(`--${name} must be an integer, got ${text}`);
  return value;
}
const optNum = (text: string | undefined, name: string): number | undefined => (text === undefined ? undefined : num(text, name));
const optInt = (text: string | undefined, name: string): number | undefined => (text === undefined ? undefined : int(text, name));
