// What the providers share: how an answer or a failed request becomes a
// SendOutcome (docs/PROTOCOL.md §16.6), and how a per-provider object is merged over the neutral
// fields (§16.3).
import type { SendOutcome } from '../types.js';

/**
 * A provider that neither answers nor fails within this is treated as "no answer" and retried.
 * The one limit of an attempt: the providers' requests and the dispatcher's backstop both use it.
 */
export const SEND_TIMEOUT_MS = 15_000;

/** Retry-After as seconds or an HTTP date, in ms from now; undefined when absent or unreadable. */
function retryAfterMs(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** 429 and 5xx: the provider may take it later. Undefined for every other status. */
export function transientOutcome(status: number, retryAfter: string | null | undefined, reason: string): SendOutcome | undefined {
  if (status !== 429 && status < 500) return undefined;
  const afterMs = retryAfterMs(retryAfter);
  return afterMs === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, afterMs };
}

const isTimeout = (reason: unknown): boolean => (reason as { name?: unknown } | null | undefined)?.name === 'TimeoutError';

/** A request that got no answer (network error, timeout, the caller's abort): always worth another try. */
export function unansweredOutcome(provider: string, error: unknown, signal: AbortSignal): SendOutcome {
  // The caller's signal may carry the same limit (the dispatcher's backstop): that is no answer too.
  if (signal.aborted && !isTimeout(signal.reason)) return { kind: 'retry', reason: `${provider}: aborted` };
  // fetch rejects with the timeout itself, an HTTP/2 stream with an AbortError caused by it.
  const timedOut = signal.aborted || isTimeout(error) || (error instanceof Error && isTimeout(error.cause));
  if (timedOut) return { kind: 'retry', reason: `${provider}: no answer in ${SEND_TIMEOUT_MS / 1000} s` };
  // The cause's code (ECONNREFUSED, ERR_HTTP2_…) says enough and carries no token.
  const cause = error instanceof Error ? ((error.cause as { code?: unknown } | undefined)?.code ?? (error as { code?: unknown }).code) : undefined;
  return { kind: 'retry', reason: `${provider}: network error${typeof cause === 'string' ? ` ${cause}` : ''}` };
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `over` merged into a copy of `base`: objects merge key by key, anything else (arrays too) replaces. */
export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown> | undefined): Record<string, unknown> {
  if (over === undefined) return base;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    // A JSON body can carry an own "__proto__"; assigning it would swap the copy's prototype.
    if (key === '__proto__') continue;
    const current = merged[key];
    merged[key] = isObject(current) && isObject(value) ? deepMerge(current, value) : value;
  }
  return merged;
}

/** The object without its undefined values, so JSON bodies carry only what was set. */
export function defined(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}
