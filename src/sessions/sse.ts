// GET /broadcasty/sse (docs/PROTOCOL.md §15.1, §15.2): a session whose frames go out as SSE
// events on one streamed response, for as long as that response lives. A browser's EventSource
// reconnects by itself after `retry` and sends the last `id:` (the resume cursor) back as
// Last-Event-ID, which resumes every history stream it names.
import type { HttpAnswer, ResponseStream, StreamAbortReason } from '../transport/types.js';
import { parseCursor } from './cursor.js';
import type { SessionRequest } from './session-request.js';
import type { HttpSession } from './http-session.js';
import { newSessionKey, openSubscribed, readSubscribeQuery, refusal, SubscribedWire } from './open-subscribed.js';

// The SSE framing, shared with the admin tap (admin/tap-stream.ts), which streams as this does.
/** The browser's reconnect delay (ms), sent first. */
export const RETRY = 'retry: 2000\n\n';

export const HEADERS = { 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' };

/** A comment line: keeps proxies from timing the idle stream out. */
export const HEARTBEAT = ': heartbeat\n\n';

export async function sseEndpoint(input: SessionRequest): Promise<HttpAnswer> {
  const query = readSubscribeQuery(input.request);
  if (!('channels' in query)) return query;
  const lastEventId = input.request.headers['last-event-id'] ?? query.params.get('lastEventId') ?? '';
  const points = parseCursor(lastEventId);
  if (typeof points === 'string') return refusal(400, `Invalid Last-Event-ID: ${points}`);
  const wire = new SseWire();
  const opened = await openSubscribed(input, query, newSessionKey(input, 'sse', query.appKey).key, wire, points);
  if (!opened.ok) return opened.reply;
  const { session } = opened;
  return {
    status: 200,
    contentType: 'text/event-stream; charset=utf-8',
    headers: HEADERS,
    stream: (out) => {
      out.write(RETRY);
      // The session is the response: once it ends, the client is gone for good (presence ends).
      const response = new SseResponse(out, () => ended(input, session));
      // Gone between the answer and its stream (timed out): the browser reconnects and resumes.
      if (session.finished) response.end();
      else session.receive(response);
    },
  };
}

function ended(input: SessionRequest, session: HttpSession): void {
  session.gone();
  input.sessions.remove(session);
}

class SseWire extends SubscribedWire {
  readonly heartbeat = HEARTBEAT;
  readonly delivery = 'stream';

  frames(frames: readonly string[]): string {
    let bytes = '';
    for (const frame of frames) {
      const decoded = this.take(frame);
      if (decoded === undefined) continue;
      // Only streams with history channels carry ids: the cursor of everything sent so far.
      if (this.positions.size !== 0) bytes += `id: ${this.positions.cursor}\n`;
      bytes += decoded.sse ??= `event: ${eventField(decoded.event)}\ndata: ${frame}\n\n`;
    }
    return bytes;
  }
}

/** A line break in an event name (the HTTP API allows any) would end the field and inject lines. */
const eventField = (event: string): string => (/[\r\n]/.test(event) ? event.replace(/\r/g, '\\r').replace(/\n/g, '\\n') : event);

/** The streamed response, with one more listener for its end however it comes. */
class SseResponse implements ResponseStream {
  private done = false;

  constructor(
    private readonly out: ResponseStream,
    private readonly onEnd: () => void,
  ) {}

  get isClosed(): boolean {
    return this.out.isClosed;
  }

  write(chunk: string): boolean {
    return this.out.write(chunk);
  }

  onWritable(callback: () => void): void {
    this.out.onWritable(callback);
  }

  onAborted(callback: (reason: StreamAbortReason) => void): void {
    this.out.onAborted((reason) => {
      callback(reason);
      this.finished();
    });
  }

  end(): void {
    this.out.end();
    this.finished();
  }

  bufferedBytes(): number {
    return this.out.bufferedBytes();
  }

  private finished(): void {
    if (this.done) return;
    this.done = true;
    this.onEnd();
  }
}
