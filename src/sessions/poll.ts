// GET /broadcasty/poll (docs/PROTOCOL.md §15.1, §15.3): a session that lives while polls keep
// coming. A poll without a cursor opens one and answers at once; a poll with the last answer's
// cursor acknowledges that answer and waits for the next frames; the cursor before it (that
// answer was lost) gets the same answer again. A cursor whose session is gone opens a new one
// that resumes the cursor's history streams (`reset`).
import type { HttpAnswer, HttpReply, ResponseStream, StreamAbortReason } from '../transport/types.js';
import { formatPollCursor, parsePollCursor, type StreamPoint } from './cursor.js';
import type { SessionRequest } from './session-request.js';
import type { HttpSession } from './http-session.js';
import type { HttpSessions } from './sessions.js';
import { newSessionKey, openSubscribed, readSubscribeQuery, refusal, sessionKey, SubscribedWire } from './open-subscribed.js';

const HEADERS = { 'Cache-Control': 'no-store' };

export async function pollEndpoint(input: SessionRequest): Promise<HttpAnswer> {
  const params = new URLSearchParams(input.request.query);
  const maxTimeout = input.ctx.config.pollTimeoutSeconds;
  const timeout = timeoutOf(params.get('timeout'), maxTimeout);
  if (timeout === undefined) return refusal(400, `Invalid timeout: an integer of seconds 0–${maxTimeout} (pollTimeoutSeconds)`);
  const cursorText = params.get('cursor');
  if (cursorText === null) return open(input, [], false);
  const cursor = parsePollCursor(cursorText);
  if (typeof cursor === 'string') return refusal(400, `Invalid cursor: ${cursor}`);
  const session = input.sessions.get(sessionKey('poll', params.get('app') ?? '', cursor.session));
  const wire = session?.wire;
  // A cursor travels in URLs (proxy logs): from another address it opens a session of that
  // client's own, with its own token, instead of reading this one's channels.
  if (session === undefined || session.finished || !(wire instanceof PollWire) || session.remoteAddress !== input.request.remoteAddress) {
    return open(input, cursor.points, true);
  }
  if (cursor.delivered === wire.answered) return timeout === 0 ? answerNow(session, wire, false) : held(input.sessions, session, wire, timeout, maxTimeout);
  const lost = wire.lastPage;
  if (lost !== undefined && cursor.delivered === lost.start) {
    session.touched();
    return page(lost.text);
  }
  // A cursor no recent answer gave (a request replayed out of order): start over from its positions.
  session.gone();
  input.sessions.remove(session);
  return open(input, cursor.points, true);
}

function timeoutOf(text: string | null, max: number): number | undefined {
  if (text === null) return max;
  if (!/^\d{1,4}$/.test(text)) return undefined;
  const seconds = Number(text);
  return seconds <= max ? seconds : undefined;
}

async function open(input: SessionRequest, points: readonly StreamPoint[], reset: boolean): Promise<HttpAnswer> {
  const query = readSubscribeQuery(input.request);
  if (!('channels' in query)) return query;
  const { id, key } = newSessionKey(input, 'poll', query.appKey);
  const wire = new PollWire(id);
  const opened = await openSubscribed(input, query, key, wire, points);
  if (!opened.ok) return opened.reply;
  return answerNow(opened.session, wire, reset);
}

/** Whatever waits (subscription_succeeded right after the open), or an empty page. */
function answerNow(session: HttpSession, wire: PollWire, reset: boolean): HttpReply {
  const answer = new PollAnswer(wire, reset);
  session.receive(answer);
  answer.end();
  return page(answer.text);
}

/** Waits for frames: the session's sweep ends it at pollTimeoutSeconds, a shorter `timeout` here. */
function held(sessions: HttpSessions, session: HttpSession, wire: PollWire, timeout: number, maxTimeout: number): HttpAnswer {
  return {
    status: 200,
    headers: HEADERS,
    stream: (out) => {
      const answer = new PollAnswer(wire, false, out);
      session.receive(answer);
      if (answer.isClosed || timeout >= maxTimeout) return;
      sessions.after(Date.now() + timeout * 1000, () => {
        if (answer.isClosed) return;
        answer.end();
        // Ended outside the session: its life counts from this answer, as from the sweep's.
        session.touched();
      });
    },
  };
}

const page = (text: string): HttpReply => ({ status: 200, body: text, headers: HEADERS });

class PollWire extends SubscribedWire {
  readonly heartbeat = '';
  readonly delivery = 'poll';
  /** Frames handed to answers so far. */
  private delivered = 0;
  /** `delivered` as the cursor of the latest answer says it. */
  answered = 0;
  /** The latest answer that carried frames, for a client that lost it. */
  lastPage: { start: number; text: string } | undefined;

  constructor(private readonly session: string) {
    super();
  }

  /** The answer's events, comma-separated: PollAnswer puts them in the page. */
  frames(frames: readonly string[]): string {
    let events = '';
    for (const frame of frames) {
      if (this.take(frame) === undefined) continue;
      this.delivered += 1;
      events += (events === '' ? '' : ',') + frame;
    }
    return events;
  }

  page(events: string, reset: boolean): string {
    const start = this.answered;
    this.answered = this.delivered;
    let text = `{"cursor":${JSON.stringify(formatPollCursor(this.session, this.delivered, this.positions))},"events":[${events}]`;
    if (reset) text += ',"reset":true';
    if (this.closed !== undefined) text += `,"closed":${JSON.stringify(this.closed)}`;
    text += '}';
    if (start !== this.answered) this.lastPage = { start, text };
    return text;
  }
}

/**
 * One poll's answer, as the session's response: the session writes the events of the frames it
 * hands over (or nothing at a timeout) and ends it; the page is built then, with the cursor as
 * it stands after them, and goes to the HTTP response when there is one.
 */
class PollAnswer implements ResponseStream {
  private events = '';
  private ended = false;
  /** The page, once ended. */
  text = '';

  constructor(
    private readonly wire: PollWire,
    private readonly reset: boolean,
    private readonly out?: ResponseStream,
  ) {}

  get isClosed(): boolean {
    return this.ended || (this.out?.isClosed ?? false);
  }

  write(chunk: string): boolean {
    if (chunk !== '') this.events += (this.events === '' ? '' : ',') + chunk;
    return true;
  }

  onWritable(): void {}

  onAborted(callback: (reason: StreamAbortReason) => void): void {
    this.out?.onAborted(callback);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.text = this.wire.page(this.events, this.reset);
    this.out?.write(this.text);
    this.out?.end();
  }

  bufferedBytes(): number {
    return this.events.length + (this.out?.bufferedBytes() ?? 0);
  }
}
