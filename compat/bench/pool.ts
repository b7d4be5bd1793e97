// Orchestrator side of the load generators: forks worker processes, splits connections
// across them (fds and CPU spread over processes) and merges what they report.
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { LoadResult, LoadSpec, TriggerTarget } from './http-client.js';
import type { ActionResult, ChannelPlan, ChannelStats, Command, ConnectResult, ReplyEnvelope, StatsResult, Transport } from './ipc.js';
import { emptyChannelStats } from './ipc.js';
import { BENCH_DIR, spawnNode, stopChild } from './servers.js';
import { Histogram, now } from './stats.js';

/**
 * Connections per source address. One address has ~28k ephemeral ports, but the kernel's
 * port search in bind() slows down as they fill: at 10k per address each connect cost the
 * client 0.7 ms of CPU, at 2.5k 0.3 ms — and the client's cost is what the connect scenario
 * would otherwise measure.
 */
const PER_ADDRESS = 2_000;

export interface ConnectOptions {
  transport: Transport;
  url: string;
  key: string;
  secret: string;
  total: number;
  concurrency: number;
  timeoutMs: number;
  plan?: ChannelPlan;
  /** Connections per source address (default PER_ADDRESS): below a server's per-IP limit for HTTP sessions. */
  perAddress?: number;
}

export interface MergedConnect {
  attempted: number;
  established: number;
  subscribed: number;
  errors: string[];
  connect: Histogram;
  subscribe: Histogram;
  elapsedMs: number;
}

export interface MergedStats {
  channels: Map<string, ChannelStats>;
  latency: Histogram;
  joinLatency: Histogram;
  open: number;
  closed: number;
  closeCodes: Record<string, number>;
  errorCount: number;
  errors: string[];
  cpuMs: number[];
}

interface WorkerHandle {
  child: ChildProcess;
  pending: Map<number, { resolve(body: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout }>;
}

export class Pool {
  private nextId = 1;
  /** Source addresses advance between runs so TIME_WAIT ports of a previous run never collide. */
  private nextAddress = 1;

  private constructor(private readonly workers: WorkerHandle[]) {}

  static async start(count: number): Promise<Pool> {
    const workers = Array.from({ length: count }, (): WorkerHandle => {
      const child = spawnNode('client', join(BENCH_DIR, 'worker.ts'), [], ['ignore', 'inherit', 'inherit', 'ipc']);
      return { child, pending: new Map() };
    });
    const pool = new Pool(workers);
    for (const worker of workers) {
      worker.child.on('message', (msg: ReplyEnvelope) => {
        const entry = worker.pending.get(msg.id);
        if (!entry) return;
        worker.pending.delete(msg.id);
        clearTimeout(entry.timer);
        if (msg.ok) entry.resolve(msg.body);
        else entry.reject(new Error(`worker: ${msg.error}`));
      });
      worker.child.on('exit', (code) => {
        for (const entry of worker.pending.values()) entry.reject(new Error(`worker exited (${code})`));
        worker.pending.clear();
      });
    }
    // Each worker announces itself with id 0 once its modules are loaded.
    await Promise.all(workers.map((w) => pool.await<null>(w, 0, 30_000)));
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  private await<T>(worker: WorkerHandle, id: number, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        worker.pending.delete(id);
        reject(new Error(`worker did not answer request ${id} within ${timeoutMs} ms`));
      }, timeoutMs);
      worker.pending.set(id, { resolve: resolve as (body: unknown) => void, reject, timer });
    });
  }

  request<T>(index: number, body: Command, timeoutMs = 120_000): Promise<T> {
    const worker = this.workers[index];
    const id = this.nextId++;
    const reply = this.await<T>(worker, id, timeoutMs);
    worker.child.send({ id, body });
    return reply;
  }

  all<T>(body: Command, timeoutMs?: number): Promise<T[]> {
    return Promise.all(this.workers.map((_, i) => this.request<T>(i, body, timeoutMs)));
  }

  /** Opens `total` connections split evenly over the workers; wall time measured here. */
  async connect(opts: ConnectOptions): Promise<MergedConnect> {
    const addressCount = Math.max(1, Math.ceil(opts.total / (opts.perAddress ?? PER_ADDRESS)));
    const addresses = Array.from({ length: addressCount }, () => {
      const address = `127.0.0.${this.nextAddress}`;
      this.nextAddress = (this.nextAddress % 250) + 1;
      return address;
    });
    const n = this.workers.length;
    let from = 0;
    const start = now();
    const parts = await Promise.all(
      this.workers.map((_, i) => {
        const count = Math.floor(opts.total / n) + (i < opts.total % n ? 1 : 0);
        const cmd: Command = { type: 'connect', transport: opts.transport, url: opts.url, key: opts.key, secret: opts.secret, from, count, addresses, concurrency: Math.ceil(opts.concurrency / n), timeoutMs: opts.timeoutMs, plan: opts.plan };
        from += count;
        const rounds = Math.ceil(count / Math.max(1, Math.ceil(opts.concurrency / n))) + 1;
        return this.request<ConnectResult>(i, cmd, rounds * opts.timeoutMs * 2 + 10_000);
      }),
    );
    return {
      attempted: sum(parts.map((p) => p.attempted)),
      established: sum(parts.map((p) => p.established)),
      subscribed: sum(parts.map((p) => p.subscribed)),
      errors: parts.flatMap((p) => p.errors).slice(0, 5),
      connect: Histogram.from(parts.map((p) => p.connect)),
      subscribe: Histogram.from(parts.map((p) => p.subscribe)),
      elapsedMs: now() - start,
    };
  }

  async reset(): Promise<void> {
    await this.all<null>({ type: 'reset' });
  }

  async stats(): Promise<MergedStats> {
    const parts = await this.all<StatsResult>({ type: 'stats' });
    const channels = new Map<string, ChannelStats>();
    for (const part of parts) {
      for (const [name, stats] of Object.entries(part.channels)) {
        const into = channels.get(name) ?? emptyChannelStats();
        for (const key of Object.keys(into) as Array<keyof ChannelStats>) into[key] += stats[key];
        channels.set(name, into);
      }
    }
    const closeCodes: Record<string, number> = {};
    for (const part of parts) for (const [code, c] of Object.entries(part.closeCodes)) closeCodes[code] = (closeCodes[code] ?? 0) + c;
    return {
      channels,
      latency: Histogram.from(parts.map((p) => p.latency)),
      joinLatency: Histogram.from(parts.map((p) => p.joinLatency)),
      open: sum(parts.map((p) => p.open)),
      closed: sum(parts.map((p) => p.closed)),
      closeCodes,
      errorCount: sum(parts.map((p) => p.errorCount)),
      errors: parts.flatMap((p) => p.errors).slice(0, 5),
      cpuMs: parts.map((p) => p.cpuMs),
    };
  }

  /** Runs the same per-worker action everywhere (whisper, churn) and sums the results. */
  async action(body: Command, timeoutMs: number): Promise<ActionResult> {
    const parts = await this.all<ActionResult>(body, timeoutMs);
    return {
      sent: sum(parts.map((p) => p.sent)),
      failed: sum(parts.map((p) => p.failed)),
      errors: parts.flatMap((p) => p.errors).slice(0, 5),
      elapsedMs: Math.max(0, ...parts.map((p) => p.elapsedMs)),
    };
  }

  /** HTTP trigger load from every worker at once, each with its share of the connections. */
  async triggerLoad(target: TriggerTarget, spec: LoadSpec): Promise<LoadResult[]> {
    const n = this.workers.length;
    return Promise.all(
      this.workers.map((_, i) => {
        const connections = Math.floor(spec.connections / n) + (i < spec.connections % n ? 1 : 0);
        const rate = spec.rate === undefined ? undefined : spec.rate / n;
        return this.request<LoadResult>(i, { type: 'trigger-load', target, spec: { ...spec, connections: Math.max(1, connections), rate } }, spec.durationMs + 30_000);
      }),
    );
  }

  async closeAll(): Promise<void> {
    await this.all<ActionResult>({ type: 'close' });
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.workers.map(async (w) => {
        if (w.child.connected) w.child.disconnect(); // workers exit on disconnect
        await stopChild(w.child, 3000);
      }),
    );
  }
}

export const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);
