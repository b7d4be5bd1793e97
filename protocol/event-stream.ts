// Reading a text/event-stream (docs/PROTOCOL.md §15.2, §17.2) from a fetch body, by the
// EventSource parsing rules: CR, LF or CRLF line ends; `event`, `data` (lines joined with LF) and
// `id` fields; a blank line dispatches; comment lines (the heartbeats) are counted and skipped.
// For the clients that cannot use EventSource (the Authorization header, Node): the client SDK, the
// console, the CLI. No imports: browser bundles take it as it is.

export interface EventStreamMessage {
  /** The `event:` field; `message` when the event had none. */
  event: string;
  data: string;
  /** This event's own `id:` field, when it had one. */
  id: string | undefined;
}

export class EventStreamParser {
  /** Comment lines seen (`: heartbeat`). */
  comments = 0;
  private buffer = '';
  private event = '';
  private id: string | undefined;
  private data: string[] = [];

  constructor(private readonly dispatch: (message: EventStreamMessage) => void) {}

  push(chunk: string): void {
    this.buffer += chunk;
    let start = 0;
    for (;;) {
      const end = this.lineEnd(start);
      if (end === -1) break;
      this.line(this.buffer.slice(start, end));
      start = this.buffer[end] === '\r' && this.buffer[end + 1] === '\n' ? end + 2 : end + 1;
    }
    this.buffer = this.buffer.slice(start);
  }

  /** A CR at the end of what arrived may be the first half of a CRLF: the next chunk decides. */
  private lineEnd(from: number): number {
    for (let i = from; i < this.buffer.length; i++) {
      const c = this.buffer[i];
      if (c === '\n') return i;
      if (c === '\r') return i + 1 < this.buffer.length ? i : -1;
    }
    return -1;
  }

  private line(line: string): void {
    if (line === '') return this.flush();
    if (line.startsWith(':')) {
      this.comments += 1;
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id') this.id = value;
  }

  private flush(): void {
    if (this.data.length !== 0) this.dispatch({ event: this.event === '' ? 'message' : this.event, data: this.data.join('\n'), id: this.id });
    this.event = '';
    this.id = undefined;
    this.data = [];
  }
}

/** Reads `body` to its end, handing each decoded chunk on; an abort of the request rejects. */
export async function readEventStream(body: ReadableStream<Uint8Array>, received: (text: string) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      received(decoder.decode(value, { stream: true }));
    }
  } finally {
    reader.releaseLock();
  }
}
