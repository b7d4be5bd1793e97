// Result shapes, console tables and the target-vs-limit comparison.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface Column {
  key: string;
  title: string;
  /** Direction for ratios; 'exact' columns are correctness counts (lost, established…), never ratioed. */
  better: 'higher' | 'lower' | 'exact';
  digits?: number;
}

export interface Row {
  label: string;
  values: Record<string, number | null>;
}

export interface ScenarioResult {
  scenario: string;
  target: string;
  params: Record<string, unknown>;
  columns: Column[];
  rows: Row[];
  /** Things a reader must know to trust the numbers (skips, client saturation, errors). */
  notes: string[];
  /** Correctness failures (messages lost, connections missing); empty means all counts held. */
  failures: string[];
}

export interface Comparison {
  scenario: string;
  limit: ScenarioResult;
  target: ScenarioResult;
  /** Per row label, per column key: target / limit. */
  ratios: Record<string, Record<string, number | null>>;
}

function format(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '—';
  if (Math.abs(value) >= 1e6 && digits === 0) return `${(value / 1e6).toFixed(2)}M`;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function renderResult(result: ScenarioResult): string {
  const headers = [`${result.scenario} @ ${result.target}`, ...result.columns.map((c) => c.title)];
  const rows = result.rows.map((row) => [row.label, ...result.columns.map((c) => format(row.values[c.key], c.digits))]);
  return [table(headers, rows), ...result.notes.map((n) => `  note: ${n}`), ...result.failures.map((f) => `  FAIL: ${f}`)].join('\n');
}

export function compare(limit: ScenarioResult, target: ScenarioResult): Comparison {
  const ratios: Comparison['ratios'] = {};
  for (const row of target.rows) {
    const base = limit.rows.find((r) => r.label === row.label);
    ratios[row.label] = {};
    for (const column of target.columns) {
      if (column.better === 'exact') continue;
      const a = row.values[column.key];
      const b = base?.values[column.key];
      ratios[row.label][column.key] = a === null || a === undefined || !b ? null : a / b;
    }
  }
  return { scenario: target.scenario, limit, target, ratios };
}

export function renderComparison(c: Comparison): string {
  const columns = c.target.columns.filter((col) => col.better !== 'exact');
  const headers = [`${c.scenario}: ${c.target.target} / ${c.limit.target}`, ...columns.map((col) => `${col.title} ${col.better === 'higher' ? '↑' : '↓'}`)];
  const rows = Object.entries(c.ratios).map(([label, values]) => [label, ...columns.map((col) => (values[col.key] == null ? '—' : `${values[col.key]!.toFixed(2)}×`))]);
  return `${table(headers, rows)}\n  (↑ higher is better: ratio < 1 = slower than the limit; ↓ lower is better: ratio > 1 = costlier)`;
}

export function writeJson(file: string, payload: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(payload, null, 2)}\n`);
}

/**
 * Load-generator CPU over the window, one figure per process. Above ~85% the client, not
 * the server, may be what was measured (likely on a 2-core box): the note says so.
 */
export function clientCpuNote(cpuMs: number[], elapsedMs: number): string {
  const shares = cpuMs.map((c) => c / Math.max(1, elapsedMs));
  const text = `load-generator CPU ${shares.map((s) => `${(s * 100).toFixed(0)}%`).join('/')}`;
  return Math.max(0, ...shares) > 0.85 ? `${text}: results may be client-bound` : text;
}
