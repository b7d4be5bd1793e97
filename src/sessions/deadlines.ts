// Deadlines the sessions' own sweep cannot express: a held poll's `timeout` below
// pollTimeoutSeconds, and the bound on opening a session. At the sweep's grain (one second), by
// one shared timer that runs only while something waits: no timer per request.
const GRAIN_MS = 1000;

interface Deadline {
  at: number;
  run: () => void;
}

class Deadlines {
  private readonly waiting = new Set<Deadline>();
  private timer: NodeJS.Timeout | undefined;

  /** Runs `run` within a second after `at` (Date.now() ms); the returned function cancels it. */
  add(at: number, run: () => void): () => void {
    const deadline = { at, run };
    this.waiting.add(deadline);
    // Unref'd: a waiting request never keeps a stopping process alive.
    this.timer ??= setInterval(() => this.sweep(), GRAIN_MS).unref();
    return () => this.remove(deadline);
  }

  private remove(deadline: Deadline): void {
    this.waiting.delete(deadline);
    if (this.waiting.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private sweep(): void {
    const now = Date.now();
    for (const deadline of this.waiting) {
      if (deadline.at > now) continue;
      this.remove(deadline);
      deadline.run();
    }
  }
}

export const deadlines = new Deadlines();
