// What a test client received: frames in arrival order, each with the exact text it arrived as
// (for byte-for-byte comparisons between subscriber kinds), and next() to wait for one.

export interface Frame {
  event: string;
  channel?: string;
  data?: unknown;
  user_id?: string;
}

export class FrameLog {
  /** Received and not yet taken by next(). */
  readonly frames: Frame[] = [];
  private readonly texts = new WeakMap<Frame, string>();
  private waiters: { predicate: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];

  received(text: string): void {
    const frame = JSON.parse(text) as Frame;
    this.texts.set(frame, text);
    this.frames.push(frame);
    this.waiters = this.waiters.filter((w) => (w.predicate(frame) ? (w.resolve(frame), false) : true));
  }

  /** The frame exactly as it was sent on the wire. */
  text(frame: Frame): string {
    return this.texts.get(frame)!;
  }

  /** Waits for pusher:connection_established; resolves to its socket_id. */
  async established(): Promise<string> {
    const frame = await this.next((f) => f.event === 'pusher:connection_established');
    return (JSON.parse(frame.data as string) as { socket_id: string }).socket_id;
  }

  /** Resolves with the first frame (already received or arriving) that matches, and takes it. */
  next(predicate: (f: Frame) => boolean = () => true, timeoutMs = 3000): Promise<Frame> {
    const seen = this.frames.find(predicate);
    if (seen !== undefined) {
      this.frames.splice(this.frames.indexOf(seen), 1);
      return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames)}`)), timeoutMs);
      this.waiters.push({
        predicate,
        resolve: (f) => {
          clearTimeout(timer);
          this.frames.splice(this.frames.indexOf(f), 1);
          resolve(f);
        },
      });
    });
  }
}
