// What both transports share for a streamed HTTP response: the closed state, the buffer cap and
// the callbacks. Each transport supplies the four socket operations (uws.ts, node.ts).
import type { ResponseStream, StreamAbortReason } from './types.js';

export abstract class BoundedResponseStream implements ResponseStream {
  private closed = false;
  private writable: (() => void) | undefined;
  private aborted: ((reason: StreamAbortReason) => void) | undefined;

  constructor(private readonly maxBufferedBytes: number) {}

  get isClosed(): boolean {
    return this.closed;
  }

  write(chunk: string): boolean {
    if (this.closed) return false;
    if (this.send(chunk)) return true;
    // A consumer this far behind is not coming back soon; its backlog would only grow.
    if (this.bufferedBytes() > this.maxBufferedBytes) this.abort('too-slow');
    return false;
  }

  onWritable(callback: () => void): void {
    this.writable = callback;
  }

  onAborted(callback: (reason: StreamAbortReason) => void): void {
    this.aborted = callback;
  }

  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.finish();
  }

  /** The transport: the connection took its backlog. */
  resumed(): void {
    if (!this.closed) this.writable?.();
  }

  /** The transport: the connection closed before end(). */
  clientGone(): void {
    if (!this.closed) this.abort('client-gone');
  }

  /** The handler threw: drop the connection, nobody is left to tell. */
  fail(): void {
    if (this.closed) return;
    this.closed = true;
    this.terminate();
  }

  private abort(reason: StreamAbortReason): void {
    this.closed = true;
    if (reason === 'too-slow') this.terminate();
    this.aborted?.(reason);
  }

  abstract bufferedBytes(): number;
  /** Writes the chunk; false when the connection could not take all of it. */
  protected abstract send(chunk: string): boolean;
  /** Ends the response normally. */
  protected abstract finish(): void;
  /** Drops the connection at once. */
  protected abstract terminate(): void;
}
