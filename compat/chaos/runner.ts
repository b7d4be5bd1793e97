// Runs the attack phases one after another against one target: before each phase the server's
// RSS, during it the peak (sampled), after it liveness (/up answers, processes alive) and whether
// memory came back within 10% of where it started. One result per phase.
import { readRssKb } from '../bench/servers.js';
import { send } from '../conformance/lib/http-client.js';
import { sleep } from '../conformance/lib/kit.js';

export interface ChaosTarget {
  host: string;
  port: number;
  appId: string;
  key: string;
  secret: string;
  /** Every port of the same deployment (the cluster's nodes); [port] for one server. */
  ports: number[];
}

/** What a phase can do to the server processes; only there with --start-broadcasty. */
export interface ProcessControl {
  /** Server pids for RSS (may be empty: memory is then not judged). */
  pids(): number[];
  /** Why a server process is gone, or null while all run. */
  died(): string | null;
  /** Error-level log lines or stack traces the servers printed since the last call. */
  takeLogErrors(): string[];
  redis?: { kill(): Promise<void>; restart(): Promise<void>; stop(): void; resume(): void };
  nodes?: { kill(index: number): Promise<void>; restart(index: number): Promise<void>; stop(index: number): void; resume(index: number): void };
}

export interface PhaseContext {
  target: ChaosTarget;
  short: boolean;
  process: ProcessControl | undefined;
  /** Sampled by the runner; phases may call it at their own peaks too. */
  sampleMemory(): void;
}

export interface PhaseOutcome {
  /** Figures for the phase line, e.g. { frames: 1000000, closes4100: 20 }. */
  figures: Record<string, number | string>;
  /** What the phase found wrong; empty = passed. */
  problems: string[];
  deviations?: string[];
}

export interface Phase {
  name: string;
  /** Needs --start-broadcasty (process control); otherwise listed as not run, with the reason. */
  needsProcessControl?: boolean;
  /** Faults the phase injects make the server log errors (a lost Redis): its log is not judged. */
  expectsServerLogs?: boolean;
  run(ctx: PhaseContext): Promise<PhaseOutcome>;
}

export interface MemoryFigures {
  beforeKb: number;
  peakKb: number;
  afterKb: number;
}

export interface PhaseResult {
  phase: string;
  passed: boolean;
  /** Why the phase could not run against this target (fault phases without process control). */
  notRun?: string;
  ms: number;
  figures: Record<string, number | string>;
  problems: string[];
  /** Framing-layer RFC departures (Tally.deviation): failures only with --strict. */
  deviations: string[];
  memory?: MemoryFigures;
}

const MEMORY_TOLERANCE = 0.1;

/** A connection the kernel refused at once: the server paused accepting (e.g. out of file descriptors). */
export const REFUSED = -1;

/** GET /up on a port: the status, REFUSED, or 0 when nothing answered within `ms`. */
export async function upStatus(host: string, port: number, ms = 5000): Promise<number> {
  const answer = send(`http://${host}:${port}/up`, 'GET').then(
    (r) => r.status,
    (error: NodeJS.ErrnoException) => (error.code === 'ECONNREFUSED' ? REFUSED : 0),
  );
  return Promise.race([answer, sleep(ms).then(() => 0)]);
}

/** /up until it answers 200 or 503, for up to `ms`: a server that paused accepting must come back. */
export async function recoveredUpStatus(host: string, port: number, ms = 5000): Promise<number> {
  const deadline = Date.now() + ms;
  let status = await upStatus(host, port, ms);
  while (status === REFUSED && Date.now() < deadline) {
    await sleep(200);
    status = await upStatus(host, port, Math.max(1, deadline - Date.now()));
  }
  return status;
}

export function totalRssKb(pids: number[]): number | null {
  let total = 0;
  for (const pid of pids) {
    const rss = readRssKb(pid);
    if (rss === null) return null;
    total += rss;
  }
  return pids.length === 0 ? null : total;
}

/** RSS back within the tolerance of `beforeKb`, polled up to `maxMs` (GC and allocator settle). */
async function settledAfter(pids: number[], beforeKb: number, maxMs: number): Promise<number | null> {
  const deadline = Date.now() + maxMs;
  let rss = totalRssKb(pids);
  while (rss !== null && rss > beforeKb * (1 + MEMORY_TOLERANCE) && Date.now() < deadline) {
    await sleep(500);
    rss = totalRssKb(pids);
  }
  return rss;
}

/** Liveness after a phase: every process alive and /up answering 200 or 503 on every node. */
async function livenessProblems(target: ChaosTarget, control: ProcessControl | undefined): Promise<string[]> {
  const died = control?.died();
  if (died) return [`crash: ${died}`];
  const problems: string[] = [];
  for (const port of target.ports) {
    const status = await recoveredUpStatus(target.host, port);
    if (status !== 200 && status !== 503) problems.push(`crash: GET /up on :${port} ${status === 0 ? 'did not answer within 5 s' : status === REFUSED ? 'still refused connections after 5 s' : `answered ${status}`}`);
  }
  return problems;
}

/**
 * `workingKb`: the servers' RSS once warmed up. A phase that starts right after a major GC starts
 * below the working size and grows back to it; growth is measured from the higher of the two, so
 * only memory beyond what the servers settle at counts.
 */
export async function runPhase(phase: Phase, target: ChaosTarget, opts: { short: boolean; strict: boolean; process?: ProcessControl; settleMs: number; workingKb?: number }): Promise<PhaseResult> {
  if (phase.needsProcessControl && opts.process?.redis === undefined) {
    return { phase: phase.name, passed: true, notRun: 'needs --start-broadcasty (kills and stops server processes)', ms: 0, figures: {}, problems: [], deviations: [] };
  }
  const started = Date.now();
  const pids = opts.process?.pids() ?? [];
  const beforeKb = totalRssKb(pids);
  let peakKb = beforeKb ?? 0;
  const sampleMemory = () => {
    const rss = totalRssKb(pids);
    if (rss !== null && rss > peakKb) peakKb = rss;
  };
  const sampler = setInterval(sampleMemory, 200);
  opts.process?.takeLogErrors();
  let outcome: PhaseOutcome;
  try {
    outcome = await phase.run({ target, short: opts.short, process: opts.process, sampleMemory });
  } catch (err) {
    outcome = { figures: {}, problems: [`phase aborted: ${(err as Error).stack ?? String(err)}`], deviations: [] };
  } finally {
    clearInterval(sampler);
  }
  sampleMemory();
  const problems = [...outcome.problems, ...(await livenessProblems(target, opts.process))];
  const logged = opts.process?.takeLogErrors() ?? [];
  if (logged.length > 0 && !phase.expectsServerLogs) problems.push(`server logged ${logged.length} error(s)/stack trace(s); first: ${logged[0].slice(0, 300)}`);
  let memory: MemoryFigures | undefined;
  if (beforeKb !== null && pids.length > 0) {
    const fromKb = Math.max(beforeKb, opts.workingKb ?? 0);
    const afterKb = await settledAfter(pids, fromKb, opts.settleMs);
    if (afterKb !== null) {
      memory = { beforeKb, peakKb, afterKb };
      if (afterKb > fromKb * (1 + MEMORY_TOLERANCE)) {
        problems.push(`unbounded growth: RSS ${mb(afterKb)} MB after settling, started at ${mb(beforeKb)} MB, working size ${mb(fromKb)} MB (peak ${mb(peakKb)} MB)`);
      }
    }
  }
  const deviations = outcome.deviations ?? [];
  const passed = problems.length === 0 && (!opts.strict || deviations.length === 0);
  return { phase: phase.name, passed, ms: Date.now() - started, figures: outcome.figures, problems, deviations, memory };
}

const mb = (kb: number) => (kb / 1024).toFixed(1);

export function formatPhase(r: PhaseResult): string {
  if (r.notRun) return `not run ${r.phase}: ${r.notRun}`;
  const figures = Object.entries(r.figures).map(([k, v]) => `${k}=${typeof v === 'number' ? v.toLocaleString('en-US') : v}`);
  if (r.memory) figures.push(`rss=${mb(r.memory.beforeKb)}/${mb(r.memory.peakKb)}/${mb(r.memory.afterKb)}MB`);
  const head = `${r.passed ? 'ok' : 'FAIL'} ${r.phase} (${(r.ms / 1000).toFixed(1)} s) ${figures.join(' ')}`;
  const item = (mark: string) => (p: string) => `    ${mark} ${p.replace(/\s*\n\s*/g, ' ⏎ ').slice(0, 600)}`;
  return [head, ...r.problems.map(item('-')), ...r.deviations.map(item('~ RFC deviation:'))].join('\n');
}

export function summarize(results: PhaseResult[]): string {
  const failed = results.filter((r) => !r.passed).length;
  const notRun = results.filter((r) => r.notRun).length;
  return `${results.length - failed - notRun} passed, ${failed} failed${notRun ? ` (${notRun} not run: need --start-broadcasty)` : ''}`;
}
