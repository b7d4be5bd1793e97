// Open file descriptors against RLIMIT_NOFILE. At EMFILE uSockets' accept loop leaves the listen
// socket readable, so epoll wakes it at once forever: 100% CPU and every new connection, `/up`
// included, times out. The transports therefore stop accepting (close the listen socket) before
// the limit and answer HTTP with 503 while only the reserve is left.
import { readdirSync, readFileSync } from 'node:fs';

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

  /** Re-reads the count (once a second: a directory listing, not per connection). */
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

function countOpenFds(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
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
 * Samples once a second (one timer per process) and pauses accepting when the budget is nearly
 * spent, resuming once it is back under the refusal line (the gap keeps it from flapping).
 */
export function gateAccepts(fds: FdBudget, listening: { pause(): void; resume(): void }): AcceptGate {
  let paused = false;
  const pauseIfSpent = () => {
    if (paused || !fds.mustPause) return;
    paused = true;
    listening.pause(); 
    // With the listen socket closed this timer may be all that keeps the process alive.
    timer.ref();
  };
  const timer = setInterval(() => {
    fds.sample();
    if (paused && !fds.full) {
      paused = false;
      listening.resume();
      timer.unref();
    } else pauseIfSpent();
  }, 1000);
  timer.unref();
  return {
    opened() {
      fds.opened();
      pauseIfSpent();
    },
    closed: () => fds.closed(),
    stop: () => clearInterval(timer),
  };
}
