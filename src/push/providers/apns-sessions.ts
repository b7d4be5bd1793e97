// HTTP/2 to APNs: one session per origin, kept open and shared by every send (Apple asks
// providers to keep connections open rather than connect per notification). A session that
// fails, is closed or gets a GOAWAY is forgotten; the next send opens a new one.
import { connect, constants, type ClientHttp2Session, type OutgoingHttpHeaders } from 'node:http2';

export interface Http2Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** The errors of a request the server is known not to have acted on (RFC 9113 §8.7). */
function neverProcessed(error: unknown): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (code === 'ERR_HTTP2_GOAWAY_SESSION' || code === 'ERR_HTTP2_INVALID_SESSION') return true;
  return code === 'ERR_HTTP2_STREAM_ERROR' && String(message).includes('NGHTTP2_REFUSED_STREAM');
}

export class Http2Sessions {
  private readonly sessions = new Map<string, ClientHttp2Session>();

  /** `ca`: extra trust for a test server's self-signed certificate; the system's CAs otherwise. */
  constructor(private readonly ca: string | undefined) {}

  /** One request on the origin's session; rejects when no answer comes (network, stream reset, abort). */
  async request(origin: string, headers: OutgoingHttpHeaders, body: string, signal: AbortSignal): Promise<Http2Answer> {
    try {
      return await this.attempt(origin, headers, body, signal);
    } catch (error) {
      // A stream APNs refused or a session it was leaving never reached it: once more on a new session.
      if (!neverProcessed(error) || signal.aborted) throw error;
      return this.attempt(origin, headers, body, signal);
    }
  }

  private attempt(origin: string, headers: OutgoingHttpHeaders, body: string, signal: AbortSignal): Promise<Http2Answer> {
    return new Promise((resolve, reject) => {
      const stream = this.session(origin).request({ [constants.HTTP2_HEADER_METHOD]: 'POST', ...headers }, { signal });
      let answerHeaders: Http2Answer['headers'] = {};
      let answer = '';
      stream.setEncoding('utf8');
      stream.on('response', (received) => (answerHeaders = received));
      stream.on('data', (chunk: string) => (answer += chunk));
      stream.on('end', () => resolve({ status: Number(answerHeaders[constants.HTTP2_HEADER_STATUS]), headers: answerHeaders, body: answer }));
      stream.on('error', reject);
      // After 'end' this changes nothing; without one (a reset with NO_ERROR) there was no answer.
      stream.on('close', () => reject(Object.assign(new Error('stream closed without an answer'), { code: 'ERR_HTTP2_STREAM_CLOSED' })));
      stream.end(body);
    });
  }

  async close(): Promise<void> {
    const open = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(open.map((session) => new Promise<void>((resolve) => (session.closed || session.destroyed ? resolve() : session.close(resolve)))));
  }

  private session(origin: string): ClientHttp2Session {
    const existing = this.sessions.get(origin);
    if (existing !== undefined && !existing.closed && !existing.destroyed) return existing;
    const session = connect(origin, this.ca === undefined ? {} : { ca: this.ca });
    const forget = (): void => {
      if (this.sessions.get(origin) === session) this.sessions.delete(origin);
    };
    // The requests in flight get the error too; the session's own would otherwise be unhandled.
    session.on('error', forget);
    session.on('goaway', forget);
    session.on('close', forget);
    this.sessions.set(origin, session);
    return session;
  }
}
