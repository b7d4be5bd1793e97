// A TEST-ONLY subscriber kind: a client that lives in the test's process and connects through the
// server's own socket handlers (handshake, frames in, frames out) with a ClientSocket that has no
// native topics, so the hub keeps it in its own per-topic sets, as it will an HTTP stream or a
// polling session. Frames arrive as the exact strings a WebSocket would carry.
import type { Connection } from '../../src/hub/connection.js';
import type { RunningServer } from '../../src/server.js';
import type { ClientSocket, SocketHandlers } from '../../src/transport/types.js';
import { FrameLog, type Frame } from './frame-log.js';

export class InProcessSubscriber implements ClientSocket {
  readonly remoteAddress = 'in-process';
  isClosed = false;
  /** What bufferedBytes() reports: a test sets it to play a client that stopped reading. */
  buffered = 0;
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly log = new FrameLog();
  /** Received and not yet taken by next(). */
  readonly frames: Frame[] = this.log.frames;
  private owner: Connection | undefined;
  private closeCode: number | undefined;
  private onClosed!: (close: { code: number; reason: string }) => void;

  private constructor(private readonly handlers: SocketHandlers<Connection>) {
    this.closed = new Promise((resolve) => (this.onClosed = resolve));
  }

  /** Opens a connection to the app with that key, as a WebSocket upgrade to /app/{key}?{query} would. */
  static connect(server: RunningServer, key = 'app-key', query = 'protocol=7&client=js&version=8.4.0&flash=false'): InProcessSubscriber {
    const client = new InProcessSubscriber(server.sockets);
    client.owner = server.sockets.open(client, { appKey: key, query, origin: '', tls: false, atCapacity: false });
    // A refusal inside open() closes before the owner exists: deliver that close now, as uWS does.
    if (client.closeCode !== undefined) client.handlers.close(client.owner, client.closeCode);
    return client;
  }

  // ClientSocket: the server's side.
  send(frame: string): boolean {
    if (this.isClosed) return false;
    this.log.received(frame);
    return true;
  }

  close(code: number, reason: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closeCode = code;
    this.onClosed({ code, reason });
    if (this.owner !== undefined) this.handlers.close(this.owner, code);
  }

  bufferedBytes(): number {
    return this.isClosed ? 0 : this.buffered;
  }

  // The client's side, as RawClient offers it for a WebSocket.
  write(frame: unknown): void {
    if (!this.isClosed) this.handlers.message(this.owner!, typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  next(predicate: (f: Frame) => boolean = () => true, timeoutMs = 3000): Promise<Frame> {
    return this.log.next(predicate, timeoutMs);
  }

  /** The frame exactly as the server sent it. */
  text(frame: Frame): string {
    return this.log.text(frame);
  }

  established(): Promise<string> {
    return this.log.established();
  }

  /** The client goes away (a WebSocket's Close 1000). */
  disconnect(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.onClosed({ code: 1000, reason: '' });
    this.handlers.close(this.owner!, 1000);
  }
}
