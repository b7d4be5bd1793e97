// Per-app HTTP API rate limit on this node: a one-second fixed window, no timers.
export class RequestRateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  /** Returns the seconds to wait (Retry-After) when over the limit, else 0. */
  take(appId: string, limit: number | null, now = Date.now()): number {
    if (limit === null) return 0;
    let window = this.windows.get(appId);
    if (window === undefined || now - window.start >= 1000) {
      window = { start: now, count: 0 };
      this.windows.set(appId, window);
    }
    window.count += 1;
    return window.count > limit ? Math.max(1, Math.ceil((window.start + 1000 - now) / 1000)) : 0;
  }
}
