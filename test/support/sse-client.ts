// /broadcasty/sse and /broadcasty/poll as a script reads them (docs/PROTOCOL.md §15): Node's fetch
// reading the event stream line by line the way EventSource parses it (id, event, data fields,
// comments, a blank line dispatches), and a poll that returns the page.
import { get as httpGet } from 'node:http';
import { EventStreamParser, readEventStream, type EventStreamMessage } from '../../protocol/event-stream.js';
import type { Frame } from './frame-log.js';

export interface SseEvent {
  /** The `id:` field; undefined when the event had none. */
  id: string | undefined;
  event: string;
  data: string;
  /** The data parsed: the Pusher frame. */
  frame: Frame & Record<string, unknown>;
}

export type Query = Record<string, string | string[]>;

export function searchOf(query: Query): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) for (const v of Array.isArray(value) ? value : [value]) search.append(name, v);
  return search.toString();
}

/** A refused request: its status, body and headers. */
export interface Refused {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

export class SseStream {
  /** Events received and not yet taken by next(). */
  readonly events: SseEvent[] = [];
  /** Every byte received, in order. */
  raw = '';
  /** Resolves when the server ended the stream (or the client closed it). */
  readonly ended: Promise<void>;
  private waiters: { predicate: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }[] = [];
  private readonly parser = new EventStreamParser((fields) => this.dispatch(fields));

  private constructor(
    readonly headers: Headers,
    body: ReadableStream<Uint8Array>,
    private readonly abort: AbortController,
  ) {
    this.ended = readEventStream(body, (text) => {
      this.raw += text;
      this.parser.push(text);
    }).catch(() => undefined); // Aborted by close(): the stream ended for this client.
  }

  /** Comment lines received (`: heartbeat`). */
  get comments(): number {
    return this.parser.comments;
  }

  /** Opens the stream: the SseStream on 200, else the refusal. */
  static async open(port: number, query: Query, headers: Record<string, string> = {}): Promise<SseStream | Refused> {
    const abort = new AbortController();
    const response = await fetch(`http://127.0.0.1:${port}/broadcasty/sse?${searchOf(query)}`, { headers, signal: abort.signal });
    if (response.status === 200) return new SseStream(response.headers, response.body!, abort);
    return { status: response.status, body: (await response.json()) as Record<string, unknown>, headers: response.headers };
  }

  /** Resolves with the first event (already received or arriving) that matches, and takes it. */
  next(predicate: (e: SseEvent) => boolean = () => true, timeoutMs = 5000): Promise<SseEvent> {
    const seen = this.events.find(predicate);
    if (seen !== undefined) {
      this.events.splice(this.events.indexOf(seen), 1);
      return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching SSE event within ${timeoutMs} ms; got ${JSON.stringify(this.events.map((e) => e.data))}`)), timeoutMs);
      this.waiters.push({
        predicate,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  }

  /** The next event named `event` (on `channel` when given). */
  named(event: string, channel?: string, timeoutMs?: number): Promise<SseEvent> {
    return this.next((e) => e.event === event && (channel === undefined || e.frame.channel === channel), timeoutMs);
  }

  close(): void {
    this.abort.abort();
  }

  private dispatch({ id, event, data }: EventStreamMessage): void {
    const received: SseEvent = { id, event, data, frame: JSON.parse(data) as SseEvent['frame'] };
    const waiter = this.waiters.find((w) => w.predicate(received));
    if (waiter === undefined) {
      this.events.push(received);
      return;
    }
    this.waiters.splice(this.waiters.indexOf(waiter), 1);
    waiter.resolve(received);
  }
}

export function isRefused(answer: SseStream | Refused): answer is Refused {
  return !(answer instanceof SseStream);
}

/** Opens a stream that must answer 200. */
export async function openStream(port: number, query: Query, headers: Record<string, string> = {}): Promise<SseStream> {
  const answer = await SseStream.open(port, query, headers);
  if (isRefused(answer)) throw new Error(`SSE refused with ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer;
}

export interface PollPage {
  cursor: string;
  events: (Frame & Record<string, unknown>)[];
  reset?: boolean;
  closed?: { code: number; reason: string };
}

/** One poll: the page on 200, else the refusal; `localAddress` polls from another client address (127.0.0.x). */
export async function poll(port: number, query: Query, localAddress?: string): Promise<{ status: number; page: PollPage; body: Record<string, unknown> }> {
  const url = `http://127.0.0.1:${port}/broadcasty/poll?${searchOf(query)}`;
  const { status, text } = localAddress === undefined ? await fetchText(url) : await getFrom(url, localAddress);
  const body = JSON.parse(text) as Record<string, unknown>;
  return { status, page: body as unknown as PollPage, body };
}

async function fetchText(url: string): Promise<{ status: number; text: string }> {
  const response = await fetch(url);
  return { status: response.status, text: await response.text() };
}

/** fetch cannot pick its source address; node:http can. */
function getFrom(url: string, localAddress: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    httpGet(url, { localAddress }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
    }).on('error', reject);
  });
}
