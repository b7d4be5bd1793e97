// Open file descriptors against RLIMIT_NOFILE. At EMFILE uSockets' accept loop leaves the listen
// socket readable, so epoll wakes it at once forever: 100% CPU and every new connection, `/up`
// included, times out. The transports therefore stop accepting (close the listen socket) before
// the limit and answer HTTP with 503 while only the reserve is left.
import { readdirSync, readFileSync, statSync } from 'node:fs';

const UNLIMITED = Number.MAX_SAFE_INTEGER;

export class FdBudget {
  private sampled = 0;
  private openedSinceSample = 0;

  /**
   * @param limit the soft RLIMIT_NOFILE
   * @param reserve fds kept for Redis, webhooks, logs and 503 answers (at most a quarter of the
   *   limit): refusing starts at `limit - reserve`, the listen socket closes at `limit - reserve / 2`
   */
  readonly reserve: number;

  constructor(
    readonly limit: number,
    reserve: number,
  ) {
    // A low ulimit (256) must still leave most fds to sockets.
    this.reserve = Math.min(reserve, Math.floor(limit / 4));
    this.sample();
  }

  static forProcess(reserve: number): FdBudget {
    return new FdBudget(openFileLimit(), reserve);
  }

  /** Re-reads the count (once a second, not per connection). */
  sample(): void {
    // Listing /proc/self/fd needs an fd itself: failing means none is left.
    this.sampled = this.limit === UNLIMITED ? 0 : (countOpenFds() ?? this.limit);
    this.openedSinceSample = 0;
  }

  /** A connection was accepted or closed: tracked between samples. */
  opened(): void {
    this.openedSinceSample += 1;
  }

  closed(): void {
    this.openedSinceSample -= 1;
  }

  get open(): number {
    return this.sampled + this.openedSinceSample;
  }

  /** New HTTP requests get 503 and new sockets 4100 from here on. */
  get full(): boolean {
    return this.open >= this.limit - this.reserve;
  }

  get mustPause(): boolean {
    return this.open >= this.limit - Math.floor(this.reserve / 2);
  }

  /** WebSockets this process may hold when no explicit cap is set. */
  get socketLimit(): number {
    return this.limit === UNLIMITED ? UNLIMITED : Math.max(1, this.limit - this.reserve);
  }
}

/** The soft RLIMIT_NOFILE, read from /proc (Linux); unlimited elsewhere. */
function openFileLimit(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = Number(line?.split(/\s{2,}/)[1]);
    return Number.isFinite(soft) && soft > 0 ? soft : UNLIMITED;
  } catch {
    return UNLIMITED;
  }
}

const FD_DIR = '/proc/self/fd';

/**
 * Linux ≥ 6.2 gives the number of open fds as the size of /proc/self/fd: one stat. Listing it
 * costs ~1 µs per fd, and once a second that held every delivery back (~1 ms per 1,000 sockets);
 * older kernels report 0 and still get the listing.
 */
function countOpenFds(): number | undefined {
  try {
    const size = statSync(FD_DIR).size;
    return size > 0 ? size : readdirSync(FD_DIR).length;
  } catch {
    return undefined;
  }
}

export interface AcceptGate {
  /** Call for every accepted connection: closes the listen socket the moment the budget runs out. */
  opened(): void;
  closed(): void;
  stop(): void;
}

/**
 * Samples once a second (one timer per process), ten times a second once three quarters of the
 * budget are used (uWS shows JS no plain HTTP accept, so only a sample sees an attacker's idle
 * connections pile up), and pauses accepting when the budget is nearly spent, resuming once it is
 * back under the refusal line (the gap keeps it from flapping).
 */
export function gateAccepts(fds: FdBudget, listening: { pause(): void; resume(): void }): AcceptGate {
  let paused = false;
  let stopped = false;
  const pauseIfSpent = () => {
    if (paused || !fds.mustPause) return;
    paused = true;
    listening.pause();
  };
  let timer: NodeJS.Timeout;
  const tick = () => {
    fds.sample();
    if (paused && !fds.full) {
      paused = false;
      listening.resume();
    } else pauseIfSpent();
    schedule();
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(tick, fds.open >= fds.limit * 0.75 ? 100 : 1000);
    // With the listen socket closed this timer may be all that keeps the process alive.
    if (!paused) timer.unref();
  };
  schedule();
  return {
    opened() {
      fds.opened();
      pauseIfSpent();
    },
    closed: () => fds.closed(),
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
