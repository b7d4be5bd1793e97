// When to reconnect after a close (docs/PROTOCOL.md §1.4, Pusher's semantics): 4000–4099 never,
// 4100–4199 after the backoff delay, 4200–4299 at once (4203: with a fresh token, which every
// connect asks getToken() for), anything else (network, 1006) after the delay. The delay is
// exponential with full jitter: random(0, min(max, min·2^attempt)).

export type CloseAction = 'stop' | 'backoff' | 'now';

const ACTIONS: [from: number, to: number, action: CloseAction][] = [
  [4000, 4099, 'stop'],
  [4100, 4199, 'backoff'],
  [4200, 4299, 'now'],
];

export function closeAction(code: number): CloseAction {
  return ACTIONS.find(([from, to]) => code >= from && code <= to)?.[2] ?? 'backoff';
}

export class Backoff {
  private attempt = 0;

  constructor(
    private readonly minDelayMs: number,
    private readonly maxDelayMs: number,
  ) {}

  next(): number {
    const ceiling = Math.min(this.maxDelayMs, this.minDelayMs * 2 ** Math.min(this.attempt, 30));
    this.attempt += 1;
    return Math.random() * ceiling;
  }

  reset(): void {
    this.attempt = 0;
  }
}
