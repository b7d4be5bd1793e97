// Server-sent events over fetch (docs/PROTOCOL.md §15.2): a streaming parser over the body, not
// EventSource, which cannot send the Authorization header and is missing in Node. Every event's
// data is the Pusher frame; a connection-level `pusher:error` (4200 drain, 4203 token expired,
// …) names the close code of the stream that ends after it. A stream silent past sseIdleMs (the
// server's heartbeat stopped: a half-open connection) is aborted and counts as dropped.
import { HttpTransport } from './http-transport.js';
import { EventStreamParser, readEventStream } from '../../protocol/event-stream.js';
import { authHeaders, cursorOf, type ChannelRequest } from './transport.js';
import { asFrame, dataRecord } from './wire.js';

export class SseTransport extends HttpTransport {
  readonly name = 'sse' as const;

  protected async run(generation: number, channels: ChannelRequest[]): Promise<void> {
    const cursor = cursorOf(channels);
    const headers = { accept: 'text/event-stream', ...authHeaders(this.context), ...(cursor === '' ? {} : { 'last-event-id': cursor }) };
    // Only this generation's request: a reopen may already have started the next one.
    const stalled = () => this.current(generation) && this.abortRequest();
    let watchdog = setTimeout(stalled, this.context.sseIdleMs);
    const alive = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(stalled, this.context.sseIdleMs);
    };
    try {
      await this.stream(generation, channels, headers, alive);
    } finally {
      clearTimeout(watchdog);
    }
  }

  private async stream(generation: number, channels: ChannelRequest[], headers: Record<string, string>, alive: () => void): Promise<void> {
    const { response, networkFailed } = await this.get(generation, 'sse', this.query(channels), headers);
    if (response === undefined) {
      if (networkFailed) this.finish(generation, 1006, 'SSE request failed');
      return;
    }
    this.markOpen();
    let closeCode = 1006;
    let reason = 'SSE stream ended';
    const parser = new EventStreamParser(({ data }) => {
      const frame = asFrame(data);
      if (frame === undefined || !this.current(generation)) return;
      if (frame.event === 'pusher:error' && frame.channel === undefined) {
        const error = dataRecord(frame);
        if (typeof error.code === 'number' && error.code >= 4000) closeCode = error.code;
        if (typeof error.message === 'string') reason = error.message;
      }
      this.context.events.frame(frame);
    });
    try {
      await readEventStream(response.body!, (text) => {
        alive();
        if (this.current(generation)) parser.push(text);
      });
    } catch {
      // Aborted (a reopen, a close, the watchdog) or cut: which one, `current` tells.
    }
    this.finish(generation, closeCode, reason);
  }
}
