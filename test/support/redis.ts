// A real redis-server for the cluster tests: a free port, no persistence, stoppable and
// restartable on the same port to play a Redis outage; a real Sentinel watching one; and a real
// three-master Redis Cluster.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './cli-process.js';
import { scratchDir } from './scratch.js';

export class RedisServer {
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly extraArgs: string[],
  ) {}

  /** `extraArgs` e.g. `['--replicaof', '127.0.0.1', '6379']`. */
  static async start(extraArgs: string[] = []): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), extraArgs);
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts (again) on the same port; resolves once it accepts connections. */
  async restart(): Promise<void> {
    // Its own directory: a replica's full sync writes dump.rdb even without --save.
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', scratchDir('redis')];
    const child = spawn('redis-server', [...args, ...this.extraArgs], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    await untilPrinted(child, 'Ready to accept connections', 'redis-server');
  }

  /** SIGSTOP: the process keeps its sockets open but answers nothing (a frozen VM, a partition without a reset). */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Kills it at once (an outage, not a shutdown) and waits until the port is free. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

/** redis-server in Sentinel mode monitoring `primaryPort` as `name`, quick to fail over. */
export class Sentinel {
  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
  ) {}

  static async start(name: string, primaryPort: number): Promise<Sentinel> {
    const port = await freePort();
    // Sentinel rewrites its config file, so it gets one of its own.
    const file = join(scratchDir('sentinel'), 'sentinel.conf');
    writeFileSync(
      file,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `sentinel monitor ${name} 127.0.0.1 ${primaryPort} 1`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 3000`,
        '',
      ].join('\n'),
    );
    const child = spawn('redis-server', [file, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] });
    await untilPrinted(child, '+monitor', 'sentinel');
    return new Sentinel(port, child);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGKILL');
    await exited;
  }
}

/** Three masters (no replicas) joined into a Redis Cluster by redis-cli, slots spread over them. */
export class RedisCluster {
  private constructor(readonly servers: RedisServer[]) {}

  static async start(): Promise<RedisCluster> {
    const dir = scratchDir('redis-cluster');
    const servers = await Promise.all(
      [0, 1, 2].map((i) => RedisServer.start(['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${i}.conf`), '--cluster-node-timeout', '2000'])),
    );
    const addresses = servers.map((s) => `127.0.0.1:${s.port}`);
    execFileSync('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-yes'], { stdio: 'ignore', timeout: 30_000 });
    const deadline = Date.now() + 15_000;
    for (const server of servers) {
      while (!execFileSync('redis-cli', ['-p', String(server.port), 'cluster', 'info']).toString().includes('cluster_state:ok')) {
        if (Date.now() > deadline) throw new Error(`redis cluster on ${addresses.join(',')} did not reach cluster_state:ok`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    return new RedisCluster(servers);
  }

  get url(): string {
    return `redis+cluster://${this.servers.map((s) => `127.0.0.1:${s.port}`).join(',')}`;
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop()));
  }
}

/** Resolves once the process printed `marker` on stdout; rejects if it exits or takes 10 s. */
function untilPrinted(child: ChildProcess, marker: string, what: string): Promise<void> {
  let output = '';
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start: ${output}`)), 10000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(marker)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}: ${output}`));
    });
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(error.code === 'ENOENT' ? new Error('redis-server not found: install redis-server (apt-get install redis-server) to run the Redis tests') : error);
    });
  });
}
