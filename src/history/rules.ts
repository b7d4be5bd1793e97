// Which channels of an app keep history (docs/PROTOCOL.md §13): the app's rules, compiled once
// per App object, matched once per publish or subscribe.
import type { App } from '../apps/registry.js';
import type { HistoryRule } from '../config/schema.js';
import type { Retention } from '../engine/types.js';
import { compilePattern } from '../auth/channel-patterns.js';
import { loadedResolver } from '../auth/resolver.js';
import { tenantOf } from '../auth/tenancy.js';

/** A history channel's settings, as the pipeline and the subscribe path need them. */
export interface HistorySpec {
  retention: Retention;
  /** 1 = unpartitioned: frames carry no `partition` field. */
  partitions: number;
}

interface CompiledRule {
  matches: (channel: string) => boolean;
  spec: HistorySpec;
}

/** Apps are replaced, never mutated, when their settings change: the cache follows the object. */
const compiled = new WeakMap<App, readonly CompiledRule[]>();

/** `#`: reserved channels (`#server-to-user-…`, docs/PROTOCOL.md §2.11), whose subscribe reads no history. */
const RESERVED = 0x23;

export function historyFor(app: App, channel: string): HistorySpec | undefined {
  if (app.history.length === 0 || channel.charCodeAt(0) === RESERVED) return undefined;
  let rules = compiled.get(app);
  if (rules === undefined) compiled.set(app, (rules = app.history.map(compile)));
  for (const rule of rules) {
    if (!rule.matches(channel)) continue;
    return app.jwt.resolver === undefined || app.authMode === 'hmac' ? rule.spec : resolvedSpec(app.jwt.resolver, rule.spec, channel);
  }
  return undefined;
}

const MAX_PARTITIONS = 64;

/**
 * The resolver's `partitions(tenant, channel)` overrides the rule's count (docs/PROTOCOL.md
 * §14.4); anything but an integer 1–64 (no answer, a throw) keeps the rule's.
 */
function resolvedSpec(resolverPath: string, spec: HistorySpec, channel: string): HistorySpec {
  let partitions: unknown;
  try {
    partitions = loadedResolver(resolverPath)?.partitions?.(tenantOf(channel) ?? '', channel);
  } catch {
    return spec;
  }
  if (typeof partitions !== 'number' || !Number.isInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS) return spec;
  return partitions === spec.partitions ? spec : { ...spec, partitions };
}

/**
 * The partition a publish goes to: its partition key hashed (FNV-1a), so one key always lands in
 * one partition and keeps its order; no key → partition 0.
 */
export function partitionOf(spec: HistorySpec, partitionKey: string | undefined): number {
  if (spec.partitions === 1 || partitionKey === undefined) return 0;
  let hash = 0x811c9dc5;
  for (let i = 0; i < partitionKey.length; i++) hash = Math.imul(hash ^ partitionKey.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % spec.partitions;
}

function compile(rule: HistoryRule): CompiledRule {
  const spec: HistorySpec = {
    retention: { maxEvents: rule.maxEvents, maxAgeMs: rule.maxAgeSeconds * 1000, maxBytes: rule.maxBytes },
    partitions: rule.partitions,
  };
  const exact = new Set(rule.channels.filter((p) => !p.includes('*')));
  const patterns = rule.channels.filter((p) => p.includes('*')).map((pattern) => compilePattern(pattern));
  return { spec, matches: (channel) => exact.has(channel) || patterns.some((pattern) => pattern.test(channel)) };
}
