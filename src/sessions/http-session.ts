// One client over plain HTTP — a pusher-js xhr_streaming or xhr_polling session, an SSE stream, a
// /broadcasty/poll session — as a ClientSocket without native topics: the hub hands it each
// frame string, as it does to any non-WebSocket kind (docs/ARCHITECTURE.md "Subscriber kinds").
// Frames go straight to the response attached to the session when there is one; otherwise they
// wait in a queue that counts as the session's buffered bytes, so the slow-consumer checks close
// a session that stopped receiving with 4100 like a WebSocket that stopped reading.
import type { Connection } from '../hub/connection.js';
import type { ClientSocket, ResponseStream, SocketHandlers } from '../transport/types.js';

/** How a session kind puts frames on the wire. One instance per session: it may keep state (SSE ids). */
export interface SessionWire {
  /** The bytes that carry these frames on one response (SSE events, `a[…]\n`, a poll page). */
  frames(frames: readonly string[]): string;
  /** What keeps an idle streamed response alive through proxies (`h\n`, an SSE comment). */
  readonly heartbeat: string;
  /** The last bytes a session closed by the server sends (`c[code,"reason"]\n`); '' when the kind has none. */
  closing(code: number, reason: string): string;
  /**
   * `stream`: a response stays attached and takes every frame as it comes (SSE, xhr_streaming).
   * `poll`: a response ends with the first batch it carries, or with a heartbeat when it was held
   * for pollTimeoutSeconds (xhr_polling, /broadcasty/poll).
   */
  readonly delivery: 'stream' | 'poll';
  /** The client answers pusher:ping (pusher-js sessions); SSE and poll clients cannot, so the sweep marks them active. */
  readonly answersPings: boolean;
}

/** Close code the connection reports when the client stopped receiving (as a WebSocket's abnormal close). */
const CLIENT_GONE = 1006;

export class HttpSession implements ClientSocket {
  /** Set by adopt() right after the socket handlers took the session. */
  private owner: Connection | undefined;
  /** The server-side connection ended (close(), or the client gone for good). */
  isClosed = false;
  /** Whatever answered last: used by the sweep for timeouts and heartbeats (Date.now() ms). */
  lastReceiveAt: number;
  lastWriteAt: number;
  /** When the attached poll started waiting (Date.now() ms). */
  private heldSince = 0;
  private response: ResponseStream | undefined;
  private readonly queue: string[] = [];
  private queuedBytes = 0;
  /** Frames and the close bytes still owed to the client after a server-side close. */
  private finalBytes: string | undefined;
  private flushScheduled = false;
  private ownerClosed = false;
  /** A close that came while the socket handlers were still opening the session (a synchronous refusal). */
  private closedBeforeOwner: number | undefined;

  constructor(
    /** The table's key: unique per process for this kind of session. */
    readonly id: string,
    readonly remoteAddress: string,
    readonly wire: SessionWire,
    private readonly handlers: SocketHandlers<Connection>,
  ) {
    this.lastReceiveAt = this.lastWriteAt = Date.now();
  }

  /**
   * Sees every frame sent to the session before it is written or queued: an opening request
   * watches for connection_established and the subscribe answers before it picks its status.
   */
  tap: ((frame: string) => void) | undefined;

  /** A message from the client (xhr_send, a synthesized pusher:subscribe), handled as a WebSocket text frame. */
  fromClient(text: string): void {
    if (!this.isClosed && this.owner !== undefined) this.handlers.message(this.owner, text);
  }

  /** A request from the client that carries no message: activity, as a WebSocket ping is (§1.3). */
  touched(): void {
    this.lastReceiveAt = Date.now();
    if (!this.isClosed && this.owner !== undefined) this.handlers.activity(this.owner);
  }

  /** The connection the socket handlers opened for this session; a close that came first is delivered now. */
  adopt(owner: Connection): Connection {
    this.owner = owner;
    if (this.closedBeforeOwner !== undefined) this.closeOwner(this.closedBeforeOwner);
    return owner;
  }

  get connection(): Connection | undefined {
    return this.owner;
  }

  get attached(): boolean {
    return this.response !== undefined && !this.response.isClosed;
  }

  /** True once the session is closed and has nothing left to hand a client: the table drops it. */
  get finished(): boolean {
    return this.isClosed && this.finalBytes === undefined;
  }

  // ClientSocket: the server's side.

  send(frame: string): boolean {
    if (this.isClosed) return false;
    this.tap?.(frame);
    const response = this.response;
    if (response !== undefined && !response.isClosed && this.wire.delivery === 'stream' && this.queue.length === 0) {
      this.lastWriteAt = Date.now();
      response.write(this.wire.frames([frame]));
      return true;
    }
    this.queue.push(frame);
    this.queuedBytes += frame.length;
    if (response !== undefined && !this.flushScheduled) {
      // One flush per turn of the event loop, so a burst leaves in one response, not one per frame.
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
    return true;
  }

  /** Server-side close: the client gets what is queued and then the kind's closing bytes. */
  close(code: number, reason: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.finalBytes = this.takeQueued() + this.wire.closing(code, reason);
    const response = this.response;
    if (response !== undefined && !response.isClosed) this.finishOn(response);
    this.closeOwner(code);
  }

  bufferedBytes(): number {
    if (this.isClosed) return 0;
    return this.queuedBytes + (this.response?.bufferedBytes() ?? 0);
  }

  // The HTTP side.

  /**
   * A request that receives for this session: it replaces the one attached before (which ends),
   * takes what waits, and for a `poll` session ends with the first batch.
   */
  receive(response: ResponseStream): void {
    this.lastReceiveAt = Date.now();
    const previous = this.response;
    this.response = response;
    if (previous !== undefined && previous !== response && !previous.isClosed) previous.end();
    if (this.finalBytes !== undefined) return this.finishOn(response);
    response.onAborted((reason) => {
      if (this.response !== response) return;
      this.response = undefined;
      this.lastReceiveAt = Date.now();
      // A stream cut for not reading would only refill and be cut again.
      if (reason === 'too-slow') this.gone(4100);
    });
    this.heldSince = Date.now();
    if (this.queue.length !== 0) this.flush();
  }

  /** The client is gone for good (its SSE stream ended, or it stopped receiving past the session timeout). */
  gone(code = CLIENT_GONE): void {
    this.finalBytes = undefined;
    if (this.isClosed) return;
    this.isClosed = true;
    this.queue.length = 0;
    this.queuedBytes = 0;
    const response = this.response;
    this.response = undefined;
    if (response !== undefined && !response.isClosed) response.end();
    this.closeOwner(code);
  }

  /**
   * The sweep, once a second: heartbeats on idle streams, held polls answered at their timeout,
   * sessions nobody receives from closed. Returns true when the table should drop the session.
   */
  tick(now: number, timing: SessionTiming): boolean {
    const response = this.response;
    if (response !== undefined && !response.isClosed) {
      this.lastReceiveAt = now;
      if (this.wire.delivery === 'poll') {
        if (now - this.heldSince >= timing.pollTimeoutMs) this.endPoll(response, this.wire.heartbeat);
      } else if (now - this.lastWriteAt >= timing.heartbeatMs) {
        this.lastWriteAt = now;
        response.write(this.wire.heartbeat);
      }
      return false;
    }
    if (now - this.lastReceiveAt >= timing.sessionTimeoutMs) {
      this.gone();
      return true;
    }
    return this.finished;
  }

  private flush(): void {
    const response = this.response;
    if (response === undefined || response.isClosed || this.queue.length === 0 || this.isClosed) return;
    const bytes = this.takeQueued();
    if (this.wire.delivery === 'poll') {
      this.endPoll(response, bytes);
    } else {
      this.lastWriteAt = Date.now();
      response.write(bytes);
    }
  }

  private endPoll(response: ResponseStream, bytes: string): void {
    this.response = undefined;
    this.lastReceiveAt = this.lastWriteAt = Date.now();
    response.write(bytes);
    response.end();
  }

  private finishOn(response: ResponseStream): void {
    const bytes = this.finalBytes ?? '';
    this.finalBytes = undefined;
    this.response = undefined;
    response.write(bytes);
    response.end();
  }

  private takeQueued(): string {
    if (this.queue.length === 0) return '';
    const bytes = this.wire.frames(this.queue);
    this.queue.length = 0;
    this.queuedBytes = 0;
    return bytes;
  }

  private closeOwner(code: number): void {
    if (this.owner === undefined) {
      this.closedBeforeOwner = code;
      return;
    }
    if (this.ownerClosed) return;
    this.ownerClosed = true;
    this.handlers.close(this.owner, code);
  }
}

export interface SessionTiming {
  heartbeatMs: number;
  pollTimeoutMs: number;
  sessionTimeoutMs: number;
}
