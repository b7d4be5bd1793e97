// Child processes the bench starts itself: load-generator workers, the limit server and
// (optionally) Broadcasty. All are started through one helper that raises the fd limit.
import { execFileSync, spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from './stats.js';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(BENCH_DIR, '..', '..');
const TSX_LOADER = import.meta.resolve('tsx');

/** A Pusher-compatible server under test. */
export interface Target {
  label: string;
  host: string;
  port: number;
  appId: string;
  key: string;
  secret: string;
  /** Known when we started it (or --server-pid): enables RSS measurement. */
  pid?: number;
  stop?: () => Promise<void>;
  /** For servers we started: why it is gone (exit code + output tail), or null while it runs. */
  died?: () => string | null;
}

const started = new Set<ChildProcess>();
// Never leave servers or workers behind, whatever way the bench ends.
process.on('exit', () => {
  for (const child of started) if (child.exitCode === null && child.pid) child.kill('SIGKILL');
});

/** CPU lists for `taskset -c`, set by pinCpus(); unpinned by default. */
const pinning: { server?: string; client?: string } = {};

type Role = 'server' | 'client';

/**
 * Splits the CPUs: servers on CPU 0, this process (the HTTP publisher) and everything it starts
 * as a client on the rest. Without it, on two cores the scheduler sometimes stacks the server
 * and a load generator on one core and a ratio swings by 2x between identical runs.
 */
export function pinCpus(): void {
  const last = cpus().length - 1;
  pinning.server = '0';
  pinning.client = last === 1 ? '1' : `1-${last}`;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', pinning.client, String(process.pid)], { stdio: 'ignore' });
  } catch (err) {
    throw new Error(`--pin needs taskset (util-linux): ${(err as Error).message}`);
  }
}

/**
 * Spawns `node script args` (with the tsx loader for a .ts script) with the soft fd limit raised
 * to the hard one. Node has no setrlimit, so a tiny sh wrapper runs `ulimit -n` and then execs
 * node (same pid, and the IPC fd survives the exec).
 */
export function spawnNode(role: Role, script: string, args: string[], stdio: StdioOptions, env?: NodeJS.ProcessEnv): ChildProcess {
  const loader = script.endsWith('.ts') ? ['--import', TSX_LOADER] : [];
  const cpuList = pinning[role];
  const pin = cpuList === undefined ? [] : ['taskset', '-c', cpuList];
  const child = spawn(
    '/bin/sh',
    ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', 'sh', ...pin, process.execPath, ...loader, script, ...args],
    { cwd: REPO_ROOT, stdio, env: env ?? process.env },
  );
  started.add(child);
  child.once('exit', () => started.delete(child));
  return child;
}

/** SIGTERM, then SIGKILL after graceMs; only ever the one process we started. */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

/**
 * Waits (bounded) for the child's `listening on http://host:port` line on stdout or stderr.
 * Resolves with a function returning the last 4 KB of output (for crash reports).
 */
function waitForListening(child: ChildProcess, what: string, timeoutMs: number): Promise<() => string> {
  return new Promise((done, fail) => {
    let output = '';
    let settled = false;
    const timer = setTimeout(() => finish(new Error(`${what} did not report listening within ${timeoutMs} ms:\n${output.slice(-2000)}`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-4000); // bounded: the pipe is drained for the whole run
      if (!settled && /listening on http:\/\//i.test(output)) finish(null);
    };
    const onExit = (code: number | null): void => finish(new Error(`${what} exited (${code}) before listening:\n${output.slice(-2000)}`));
    function finish(err: Error | null): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.off('exit', onExit);
      // onData stays attached so a chatty server never blocks on a full pipe.
      if (err) fail(err);
      else done(() => output);
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

async function startServer(label: string, script: string, args: string[], port: number, creds: Omit<Target, 'label' | 'host' | 'port'>): Promise<Target> {
  const child = spawnNode('server', script, args, ['ignore', 'pipe', 'pipe']);
  const output = await waitForListening(child, label, 30_000).catch(async (err: Error) => {
    await stopChild(child, 1000);
    throw err;
  });
  let stopping = false;
  const died = (): string | null =>
    stopping || (child.exitCode === null && child.signalCode === null)
      ? null
      : `${label} exited (${child.exitCode ?? child.signalCode}); last output:\n${output().slice(-1500)}`;
  const stop = (): Promise<void> => {
    stopping = true;
    return stopChild(child);
  };
  return { label, host: '127.0.0.1', port, ...creds, pid: child.pid, stop, died };
}

export const DEV_APP = { appId: 'app-id', key: 'app-key', secret: 'app-secret' } as const;

// Both servers run compiled JavaScript, as users run Broadcasty (`npm start` runs tsc's output):
// under tsx every closure pays esbuild's keepNames wrapper and a loader thread adds memory, which
// the figures would otherwise count.
const requireHere = createRequire(import.meta.url);
const BUILD_DIR = join(REPO_ROOT, '.bench-tmp');
let builtLimitServer: string | undefined;
let builtBroadcasty: string | undefined;

function buildLimitServer(): string {
  if (builtLimitServer !== undefined) return builtLimitServer;
  const ts = requireHere('typescript') as typeof import('typescript');
  const source = readFileSync(join(BENCH_DIR, 'limit-server.ts'), 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
  mkdirSync(BUILD_DIR, { recursive: true });
  // Inside the repository, so its imports resolve from the project's node_modules.
  builtLimitServer = join(BUILD_DIR, 'limit-server.mjs');
  writeFileSync(builtLimitServer, outputText);
  return builtLimitServer;
}

function buildBroadcasty(): string {
  if (builtBroadcasty !== undefined) return builtBroadcasty;
  execFileSync(process.execPath, [requireHere.resolve('typescript/bin/tsc'), '-p', join(REPO_ROOT, 'tsconfig.json')], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 180_000,
  });
  builtBroadcasty = join(REPO_ROOT, 'dist', 'src', 'cli.js');
  return builtBroadcasty;
}

/** The bare limit server; `verifySignatures`: the variant that also checks each publish's signature (label `limit+sig`). */
export async function startLimitServer(options: { verifySignatures?: boolean } = {}): Promise<Target> {
  const port = await freePort();
  const args = ['--port', String(port), ...(options.verifySignatures ? ['--verify-signatures', '--key', DEV_APP.key, '--secret', DEV_APP.secret] : [])];
  return startServer(options.verifySignatures ? 'limit+sig' : 'limit', buildLimitServer(), args, port, { ...DEV_APP });
}

export const broadcastyCli = join(REPO_ROOT, 'src', 'cli.ts');

/**
 * Starts Broadcasty with the dev app, client events on, a client-event rate limit high
 * enough that whisper measures relay cost rather than the limiter, no connection cap and
 * warn-level logs (logging every connection would be what we measure otherwise).
 */
export async function startBroadcasty(cluster?: { workers: number; redisUrl: string }): Promise<Target> {
  if (!existsSync(broadcastyCli)) throw new Error(`${broadcastyCli} does not exist yet`);
  const port = await freePort();
  const config = {
    host: '127.0.0.1',
    port,
    logLevel: 'warn',
    ...(cluster === undefined ? {} : { workers: cluster.workers, redisUrl: cluster.redisUrl }),
    apps: [{ id: DEV_APP.appId, key: DEV_APP.key, secret: DEV_APP.secret, clientEvents: true, clientEventRateLimit: 1_000_000, maxConnections: null, history: [{ channels: ['bench-history-*'], maxEvents: 1000 }] }],
  };
  const file = join(tmpdir(), `broadcasty-bench-${process.pid}-${port}.json`);
  writeFileSync(file, JSON.stringify(config, null, 2));
  const label = cluster === undefined ? 'broadcasty' : `broadcasty x${cluster.workers} workers + redis`;
  const removeFile = () => rmSync(file, { force: true });
  // Workers (re)started by --workers read the file too: it stays until the server stops.
  const target = await startServer(label, buildBroadcasty(), ['start', '--port', String(port), '--host', '127.0.0.1', '--config', file], port, { ...DEV_APP }).catch((err: unknown) => {
    removeFile();
    throw err;
  });
  return { ...target, stop: () => target.stop!().finally(removeFile) };
}

/** A throwaway redis-server on a free port (nothing persisted), for --cluster runs. */
export async function startRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(child);
  child.once('exit', () => started.delete(child));
  await new Promise<void>((done, fail) => {
    let output = '';
    const timer = setTimeout(() => fail(new Error(`redis-server did not start within 10 s:\n${output}`)), 10_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        done();
      }
    });
    child.once('error', (err) => fail(new Error(`cannot start redis-server (is it installed?): ${err.message}`)));
  });
  return { url: `redis://127.0.0.1:${port}`, stop: () => stopChild(child) };
}

/**
 * Resident set size in KB of a process and its descendants (the workers of a `--workers N`
 * start), from /proc, or null when the process is unavailable.
 */
export function readRssKb(pid: number | undefined): number | null {
  return sumOverTree(pid, (status) => {
    const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    return match ? Number(match[1]) : null;
  }, 'status');
}

/** Clock ticks per second of /proc/PID/stat times: USER_HZ, 100 on Linux. */
const USER_HZ = 100;

/** User-space CPU ms used so far by a process and its descendants, or null. */
export function readUserCpuMs(pid: number | undefined): number | null {
  return sumOverTree(pid, (stat) => (Number(statFields(stat)[11]) * 1000) / USER_HZ, 'stat');
}

/** User + kernel CPU ms (utime + stime) used so far by a process and its descendants, or null. */
export function readCpuMs(pid: number | undefined): number | null {
  return sumOverTree(pid, (stat) => {
    const fields = statFields(stat);
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
  }, 'stat');
}

/** The fields of /proc/PID/stat after the parenthesised command name (which may hold spaces): [0] is state. */
function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

function sumOverTree(pid: number | undefined, read: (text: string) => number | null, file: 'status' | 'stat'): number | null {
  if (pid === undefined) return null;
  const own = readProcValue(pid, read, file);
  if (own === null) return null;
  return descendantsOf(pid).reduce((total, child) => total + (readProcValue(child, read, file) ?? 0), own);
}

function readProcValue(pid: number, read: (text: string) => number | null, file: 'status' | 'stat'): number | null {
  try {
    return read(readFileSync(`/proc/${pid}/${file}`, 'utf8'));
  } catch {
    return null;
  }
}

function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const parent = Number(statFields(readFileSync(`/proc/${entry}/stat`, 'utf8'))[1]);
      const list = children.get(parent) ?? [];
      list.push(Number(entry));
      children.set(parent, list);
    } catch {
      // The process exited while we read the table.
    }
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** Polls RSS until it changes by < 1% between samples (GC and allocator settle), bounded. */
export async function settledRssKb(pid: number | undefined, maxMs = 5000): Promise<number | null> {
  let last = readRssKb(pid);
  const deadline = Date.now() + maxMs;
  while (last !== null && Date.now() < deadline) {
    await sleep(500);
    const current = readRssKb(pid);
    if (current === null) return null;
    if (Math.abs(current - last) < last * 0.01) return current;
    last = current;
  }
  return last;
}
