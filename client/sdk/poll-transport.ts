// Long-polling (docs/PROTOCOL.md §15.3): each answer's cursor goes with the next poll; a lost
// answer is asked again with the same cursor, which the server answers with the same events. A
// new session (first open, or the channel set changed) names the client's positions in a cursor
// of no live session, so the server opens one that resumes them (`reset`). A request unanswered
// past pollTimeoutMs (a half-open connection) is aborted and counts as a lost answer.
import { formatPollCursor } from '../../protocol/cursor.js';
import { HttpTransport } from './http-transport.js';
import { authHeaders, cursorOf, type ChannelRequest } from './transport.js';
import { asFrame } from './wire.js';

/** A session id no server issues: the cursor then only carries positions. */
const NO_SESSION = '0000000000000000';
/** Lost answers asked again before the connection counts as dropped. */
const RETRIES = 3;
const RETRY_DELAY_MS = 500;

interface PollAnswer {
  cursor?: unknown;
  events?: unknown;
  closed?: { code?: unknown; reason?: unknown };
}

export class PollTransport extends HttpTransport {
  readonly name = 'poll' as const;

  protected async run(generation: number, channels: ChannelRequest[]): Promise<void> {
    const positions = cursorOf(channels);
    let cursor = positions === '' ? undefined : formatPollCursor(NO_SESSION, 0, positions);
    let failures = 0;
    while (this.current(generation)) {
      const query = this.query(channels);
      if (cursor !== undefined) query.set('cursor', cursor);
      const { answer, lost } = await this.ask(generation, query);
      if (!this.current(generation)) return;
      if (answer === undefined) {
        if (!lost) return;
        if (!this.opened || ++failures > RETRIES) return this.finish(generation, 1006, 'poll request failed');
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS * failures));
        continue;
      }
      failures = 0;
      this.markOpen();
      for (const event of Array.isArray(answer.events) ? answer.events : []) {
        const frame = asFrame(event);
        if (frame !== undefined && this.current(generation)) this.context.events.frame(frame);
      }
      if (answer.closed !== undefined) {
        const code = typeof answer.closed.code === 'number' ? answer.closed.code : 1006;
        return this.finish(generation, code, typeof answer.closed.reason === 'string' ? answer.closed.reason : 'poll session closed');
      }
      if (typeof answer.cursor === 'string') cursor = answer.cursor;
    }
  }

  /** One poll: its answer, or `lost` (network failure, unreadable, no answer within pollTimeoutMs: ask again with the same cursor). */
  private async ask(generation: number, query: URLSearchParams): Promise<{ answer?: PollAnswer; lost: boolean }> {
    const watchdog = setTimeout(() => this.current(generation) && this.abortRequest(), this.context.pollTimeoutMs);
    try {
      const { response, networkFailed } = await this.get(generation, 'poll', query, authHeaders(this.context));
      if (response === undefined) return { lost: networkFailed };
      return { answer: (await response.json()) as PollAnswer, lost: false };
    } catch {
      return { lost: true };
    } finally {
      clearTimeout(watchdog);
    }
  }
}
