// What every provider's HTTP answer has in common (docs/PROTOCOL.md §16.6): 2xx is sent, 429 and
// 5xx are retried (after Retry-After when given), no answer at all is retried, and the per-provider
// objects of a notification are deep-merged over what its neutral fields make (§16.3). Each
// provider decides which answers mean a dead token before falling back to these.
import type { SendOutcome } from '../types.js';

/** Retry-After as delay-seconds or an HTTP-date (RFC 9110 §10.2.3); undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** `reason` names the provider's status and error code (never a token). */
export function statusOutcome(response: Response, reason: string): SendOutcome {
  const { status } = response;
  if (status >= 200 && status < 300) return { kind: 'sent' };
  if (status === 429 || status >= 500) {
    const afterMs = retryAfterMs(response.headers.get('retry-after'));
    return afterMs === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, afterMs };
  }
  return { kind: 'failed', reason };
}

/** A request that got no answer: the caller's signal ended it (timeout, shutdown) or the network did. */
export function unanswered(signal: AbortSignal, error: unknown): SendOutcome {
  if (signal.aborted) return { kind: 'retry', reason: 'no answer in time' };
  const cause = (error as { cause?: { code?: unknown } }).cause?.code;
  return { kind: 'retry', reason: typeof cause === 'string' ? `network error ${cause}` : 'network error' };
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * `override` over `base`: objects merge key by key, anything else (arrays too) replaces. Built
 * with Object.fromEntries so a `__proto__` key from parsed JSON stays an ordinary property.
 */
export function deepMerge(base: Record<string, unknown>, override: Record<string, unknown> | undefined): Record<string, unknown> {
  if (override === undefined) return base;
  const keys = new Set([...Object.keys(base), ...Object.keys(override)]);
  return Object.fromEntries(
    [...keys].map((key) => {
      const mine = Object.hasOwn(base, key) ? base[key] : undefined;
      if (!Object.hasOwn(override, key)) return [key, mine];
      const theirs = override[key];
      return [key, isPlainObject(mine) && isPlainObject(theirs) ? deepMerge(mine, theirs) : theirs];
    }),
  );
}

/** The object without its undefined values, so JSON bodies carry only what was set. */
export function defined(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}
