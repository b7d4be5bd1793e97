// Unauthenticated requests must not fill audit storage: per address, at most PER_ADDRESS
// auth_failure entries a minute reach the log, the rest become one summary entry at the minute's
// end. Only the audit is limited; the tap still sees every refusal. Memory stays bounded: the
// counts are cleared every minute, and past MAX_ADDRESSES new addresses share one count.
import type { AuthFailureActivity } from '../activity/types.js';

const PER_ADDRESS = 60;
export const WINDOW_MS = 60_000;
const MAX_ADDRESSES = 10_000;
/** The shared count once MAX_ADDRESSES are tracked (its summary has no ip). */
const OTHERS = '';

interface Count {
  seen: number;
  surface: AuthFailureActivity['surface'];
}

export class AuthFailureLimit {
  private counts = new Map<string, Count>();

  /** Whether this refusal is audited; a refusal past the limit is counted for the summary. */
  admit(activity: AuthFailureActivity): boolean {
    const ip = activity.ip ?? OTHERS;
    const key = this.counts.has(ip) || this.counts.size < MAX_ADDRESSES ? ip : OTHERS;
    const count = this.counts.get(key) ?? { seen: 0, surface: activity.surface };
    count.seen += 1;
    count.surface = activity.surface;
    this.counts.set(key, count);
    return count.seen <= PER_ADDRESS;
  }

  /** Ends the minute: one summary per address that went past the limit, and the counts start over. */
  summaries(at: number): AuthFailureActivity[] {
    const summaries: AuthFailureActivity[] = [];
    for (const [ip, { seen, surface }] of this.counts) {
      if (seen <= PER_ADDRESS) continue;
      const reason = `${seen - PER_ADDRESS} more auth failures from ${ip === OTHERS ? 'other addresses' : 'this address'} suppressed`;
      summaries.push({ kind: 'auth_failure', at, surface, reason, ...(ip === OTHERS ? {} : { ip }) });
    }
    this.counts = new Map();
    return summaries;
  }
}
