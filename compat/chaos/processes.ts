// `--start-broadcasty`: a throwaway redis-server on a free port and a 2-node Broadcasty cluster
// from this repository (src/cli.ts under tsx, as test/support/cluster.ts starts it), with the
// controls the fault phases need: kill, SIGSTOP/SIGCONT and restart on the same port. Each node
// runs with a fixed open-file limit so the fd-exhaustion phase can reach it from one client.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, REPO_ROOT, stopChild } from '../bench/servers.js';
import { send } from '../conformance/lib/http-client.js';
import { sleep } from '../conformance/lib/kit.js';
import { upStatus, type ChaosTarget, type ProcessControl } from './runner.js';

export const NODE_FD_LIMIT = 4096;
export const CHAOS_APP = { appId: 'chaos-app', key: 'chaos-key', secret: 'chaos-secret' } as const;

const TSX_LOADER = import.meta.resolve('tsx');
const OUTPUT_TAIL = 8000;
// Pino error/fatal lines, and the frames of a printed stack trace.
const ERROR_LINE = /"level":(50|60)|^\s+at .+:\d+:\d+\)?$|\\n\s+at .+:\d+:\d+/;
const running = new Set<ChildProcess>();
const configFiles = new Set<string>();
// Never leave a server, a redis-server (stopped ones included) or a config file behind.
process.on('exit', () => {
  for (const child of running) {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  }
  for (const file of configFiles) rmSync(file, { force: true });
});

class Child {
  process: ChildProcess | undefined;
  output = '';
  errors: string[] = [];
  private expectedExit = false;

  constructor(
    readonly label: string,
    private readonly command: () => string[],
  ) {}

  start(): ChildProcess {
    const [file, ...args] = this.command();
    const child = spawn(file, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    this.process = child;
    this.expectedExit = false;
    // A restart waits for its own start-up line, not the previous run's.
    this.output = '';
    running.add(child);
    child.once('exit', () => running.delete(child));
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      this.output = (this.output + text).slice(-OUTPUT_TAIL);
      for (const line of text.split('\n')) if (ERROR_LINE.test(line) && this.errors.length < 50) this.errors.push(`${this.label}: ${line}`);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    return child;
  }

  async waitFor(marker: RegExp, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!marker.test(this.output)) {
      if (this.process?.exitCode !== null || this.process.signalCode !== null) throw new Error(`${this.label} exited before starting:\n${this.output.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`${this.label} did not start within ${ms} ms:\n${this.output.slice(-2000)}`);
      await sleep(50);
    }
  }

  died(): string | null {
    const p = this.process;
    if (p === undefined || this.expectedExit || (p.exitCode === null && p.signalCode === null)) return null;
    return `${this.label} exited (${p.exitCode ?? p.signalCode}); last output: ${this.output.slice(-1500)}`;
  }

  async kill(): Promise<void> {
    const p = this.process;
    if (p === undefined || p.exitCode !== null || p.signalCode !== null) return;
    this.expectedExit = true;
    const exited = new Promise((resolve) => p.once('exit', resolve));
    p.kill('SIGCONT');
    p.kill('SIGKILL');
    await exited;
  }

  signal(name: 'SIGSTOP' | 'SIGCONT'): void {
    this.process?.kill(name);
  }

  async stop(): Promise<void> {
    if (this.process === undefined) return;
    this.expectedExit = true;
    this.process.kill('SIGCONT');
    await stopChild(this.process, 3000);
  }
}

export interface Deployment {
  target: ChaosTarget;
  control: ProcessControl;
  /** Starts again whatever crashed, so the phases after a crash still test something. */
  restartCrashed(): Promise<void>;
  stop(): Promise<void>;
}

export async function startDeployment(log: (line: string) => void): Promise<Deployment> {
  const redisPort = await freePort();
  const redis = new Child('redis-server', () => ['redis-server', '--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  redis.start().once('error', (err) => log(`cannot start redis-server: ${err.message}`));
  await redis.waitFor(/Ready to accept connections/, 10_000);
  const ports = [await freePort(), await freePort()];
  const config = join(tmpdir(), `broadcasty-chaos-${process.pid}.json`);
  configFiles.add(config);
  writeFileSync(
    config,
    JSON.stringify({
      host: '127.0.0.1',
      logLevel: 'warn',
      redisUrl: `redis://127.0.0.1:${redisPort}`,
      apps: [{ id: CHAOS_APP.appId, key: CHAOS_APP.key, secret: CHAOS_APP.secret, clientEvents: true, maxConnections: null }],
    }),
  );
  const nodes = ports.map(
    (port, i) =>
      new Child(`node ${i + 1} (:${port})`, () => [
        '/bin/sh',
        '-c',
        `ulimit -n ${NODE_FD_LIMIT}; exec "$@"`,
        'sh',
        process.execPath,
        '--import',
        TSX_LOADER,
        join(REPO_ROOT, 'src', 'cli.ts'),
        'start',
        '--config',
        config,
        '--port',
        String(port),
        '--host',
        '127.0.0.1',
      ]),
  );
  const startNode = async (node: Child) => {
    node.start();
    await node.waitFor(/listening on http:\/\//i, 60_000);
  };
  await Promise.all(nodes.map(startNode));
  const all = [redis, ...nodes];
  const untilReady = async (port: number) => {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const ready = await send(`http://127.0.0.1:${port}/ready`, 'GET').catch(() => undefined);
      if (ready?.status === 200) return;
      await sleep(200);
    }
  };
  const control: ProcessControl = {
    pids: () => nodes.map((n) => n.process?.pid).filter((pid): pid is number => pid !== undefined),
    died: () => all.map((c) => c.died()).find((d) => d !== null) ?? null,
    takeLogErrors: () => nodes.flatMap((n) => n.errors.splice(0)),
    redis: {
      kill: () => redis.kill(),
      restart: async () => {
        redis.start();
        await redis.waitFor(/Ready to accept connections/, 10_000);
        await Promise.all(ports.map(untilReady));
      },
      stop: () => redis.signal('SIGSTOP'),
      resume: () => redis.signal('SIGCONT'),
    },
    nodes: {
      kill: (i) => nodes[i].kill(),
      restart: async (i) => {
        await startNode(nodes[i]);
        await untilReady(ports[i]);
      },
      stop: (i) => nodes[i].signal('SIGSTOP'),
      resume: (i) => nodes[i].signal('SIGCONT'),
    },
  };
  const target: ChaosTarget = { host: '127.0.0.1', port: ports[0], ports, ...CHAOS_APP };
  for (const port of ports) if ((await upStatus('127.0.0.1', port)) !== 200) throw new Error(`node on :${port} does not answer /up`);
  log(`started redis-server :${redisPort} and Broadcasty nodes :${ports.join(', :')} (open-file limit ${NODE_FD_LIMIT})`);
  return {
    target,
    control,
    restartCrashed: async () => {
      if (redis.died() !== null) await control.redis!.restart();
      for (let i = 0; i < nodes.length; i++) if (nodes[i].died() !== null) await control.nodes!.restart(i);
    },
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
      await redis.stop();
      rmSync(config, { force: true });
    },
  };
}
