// Runs `tick` every `intervalMs`, the next one only after the last finished (a slow server is
// not piled on), until stopped. A failed tick shows its error through `failed` and polling goes on.

export class Poller {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(
    private readonly intervalMs: number,
    private readonly tick: () => Promise<void>,
    private readonly failed: (error: unknown) => void,
  ) {}

  start(): this {
    void this.run();
    return this;
  }

  /** Runs a tick now (after a filter change), keeping the schedule. */
  now(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async run(): Promise<void> {
    try {
      await this.tick();
    } catch (error) {
      this.failed(error);
    }
    if (!this.stopped) {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.run(), this.intervalMs);
    }
  }
}
