// Runs the conformance cases against a target: selection, ordering, per-case timeout, cleanup,
// one result per case. Used by cli.ts and by test/conformance.test.ts. Imports nothing from src/.
import { mkdirSync } from 'node:fs';
import { loadCases } from './cases/index.js';
import { Skip, type Case, type CaseContext, type Target } from './types.js';

export type Status = 'pass' | 'fail' | 'skip';

export interface CaseResult {
  id: number;
  title: string;
  status: Status;
  /** Why it failed or was skipped. */
  reason?: string;
  ms: number;
}

export interface RunOptions {
  /** Ids and ranges ("1-13,22,50-60") or a case-insensitive regex on "<id> <title>". */
  only?: string;
  /** Ids never run (e.g. items that need a different server configuration). */
  exclude?: number[];
  /** Directory for artefacts (default .compat-out). */
  outDir?: string;
  /** Called with each printable result line as soon as the case ends. */
  log?: (line: string) => void;
}

const DEFAULT_TIMEOUT_MS = 15000;
const CLEANUP_TIMEOUT_MS = 5000;

/** `--only` → predicate over cases. */
export function selector(pattern: string | undefined): (c: Case) => boolean {
  if (!pattern) return () => true;
  if (/^[\d\s,-]+$/.test(pattern)) {
    const ranges = pattern
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part) => part.split('-').map(Number) as [number, number?]);
    return (c) => ranges.some(([from, to]) => c.id >= from && c.id <= (to ?? from));
  }
  const re = new RegExp(pattern, 'i');
  return (c) => re.test(`${c.id} ${c.title}`);
}

/** `--server-pid` → `--server-pid` / `COMPAT_SERVER_PID`, for skip reasons. */
export function optionHint(option: string): string {
  const kebab = option.replace(/[A-Z]/g, (ch) => `-${ch.toLowerCase()}`);
  return `--${kebab} / COMPAT_${kebab.replace(/-/g, '_').toUpperCase()}`;
}

/** By id; cases that stop the server (need serverPid) last, since nothing can run after them. */
function order(cases: Case[]): Case[] {
  const last = (c: Case) => (c.requires?.includes('serverPid') ? 1 : 0);
  return [...cases].sort((a, b) => last(a) - last(b) || a.id - b.id);
}

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ⏎ ').slice(0, 2000);

export function formatResult(r: CaseResult): string {
  const head = `${r.status === 'pass' ? 'ok' : r.status === 'fail' ? 'FAIL' : 'skip'} ${r.id} ${r.title}`;
  return r.reason ? `${head} : ${oneLine(r.reason)}` : head;
}

export function summarize(results: CaseResult[]): string {
  const n = (s: Status) => results.filter((r) => r.status === s).length;
  return `${n('pass')} passed, ${n('fail')} failed, ${n('skip')} skipped`;
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function runCase(c: Case, target: Target, outDir: string): Promise<CaseResult> {
  const started = Date.now();
  const result = (status: Status, reason?: string): CaseResult => ({ id: c.id, title: c.title, status, reason, ms: Date.now() - started });
  const missing = (c.requires ?? []).filter((option) => !target.options[option]);
  if (missing.length > 0) return result('skip', `needs option ${missing.map((o) => `${o} (${optionHint(o)})`).join(', ')}`);
  const cleanups: (() => unknown)[] = [];
  const ctx: CaseContext = { target, outDir, cleanup: (fn) => void cleanups.push(fn) };
  try {
    await withTimeout(Promise.resolve().then(() => c.run(ctx)), c.timeoutMs ?? DEFAULT_TIMEOUT_MS, 'case');
    return result('pass');
  } catch (err) {
    if (err instanceof Skip) return result('skip', err.message);
    return result('fail', err instanceof Error ? err.message : String(err));
  } finally {
    // Newest first, like a stack of resources; a failing cleanup must not hide the case result.
    for (const fn of cleanups.reverse()) {
      await withTimeout(Promise.resolve().then(fn), CLEANUP_TIMEOUT_MS, 'cleanup').catch(() => undefined);
    }
  }
}

export async function runConformance(target: Target, opts: RunOptions = {}): Promise<CaseResult[]> {
  const outDir = opts.outDir ?? '.compat-out';
  mkdirSync(outDir, { recursive: true });
  const { cases, loadErrors } = await loadCases();
  const selected = selector(opts.only);
  const excluded = new Set(opts.exclude ?? []);
  const results: CaseResult[] = [];
  const emit = (r: CaseResult) => {
    results.push(r);
    opts.log?.(formatResult(r));
  };
  for (const { module, error } of loadErrors) emit({ id: 0, title: `load ${module}`, status: 'fail', reason: error, ms: 0 });
  // A timed-out case keeps running in the background; its late rejections must not kill the run.
  const swallow = () => undefined;
  process.on('unhandledRejection', swallow);
  try {
    for (const c of order(cases.filter((c) => selected(c) && !excluded.has(c.id)))) emit(await runCase(c, target, outDir));
  } finally {
    process.off('unhandledRejection', swallow);
  }
  return results;
}
