// What SSE and long-polling share (docs/PROTOCOL.md §15): the channels ride in the request, so a
// change of the set reopens the session, naming the positions of the history channels so they
// continue without a gap (§15.4); a refusal is reported with the server's message and channel.
import { refusalOf, sessionQuery, type ChannelRequest, type Transport, type TransportContext } from './transport.js';
import type { TransportName } from './types.js';

export abstract class HttpTransport implements Transport {
  abstract readonly name: TransportName;
  protected opened = false;
  protected finished = false;
  /** Bumped by every reopen: a request of an older generation ends silently. */
  protected generation = 0;
  private controller: AbortController | undefined;
  private reopenQueued = false;

  constructor(protected readonly context: TransportContext) {
    queueMicrotask(() => this.reopen());
  }

  subscribe(_request: ChannelRequest): void {
    this.queueReopen();
  }

  unsubscribe(_channel: string): void {
    this.queueReopen();
  }

  close(): void {
    this.finished = true;
    this.controller?.abort();
  }

  /** Runs one session over `channels` until it ends or a newer generation replaces it. */
  protected abstract run(generation: number, channels: ChannelRequest[]): Promise<void>;

  /** Ends the request in flight as a network failure would (a watchdog saw it stall). */
  protected abortRequest(): void {
    this.controller?.abort();
  }

  protected current(generation: number): boolean {
    return !this.finished && generation === this.generation;
  }

  protected markOpen(): void {
    if (this.opened) return;
    this.opened = true;
    this.context.events.open();
  }

  protected finish(generation: number, code: number, reason: string): void {
    if (!this.current(generation)) return;
    this.close();
    this.context.events.close(code, reason, this.opened);
  }

  /**
   * GET `{url}/broadcasty/{endpoint}` for this generation: the response when it is a 200;
   * undefined when it was refused (reported), superseded, or failed on the network (then
   * `networkFailed` is true).
   */
  protected async get(generation: number, endpoint: string, query: URLSearchParams, headers: Record<string, string>): Promise<{ response?: Response; networkFailed: boolean }> {
    const controller = (this.controller = new AbortController());
    let response: Response;
    try {
      response = await this.context.fetch(`${this.context.url}/broadcasty/${endpoint}?${query}`, { headers, signal: controller.signal, cache: 'no-store' });
    } catch (error) {
      if (this.current(generation)) this.context.debug(`${this.name} request failed`, { error: String(error) });
      return { networkFailed: this.current(generation) };
    }
    if (!this.current(generation)) {
      controller.abort();
      return { networkFailed: false };
    }
    if (response.ok) return { response, networkFailed: false };
    const { message, channel } = await refusalOf(response);
    if (this.current(generation)) this.context.events.refused(response.status, message, channel);
    return { networkFailed: false };
  }

  protected query(channels: ChannelRequest[]): URLSearchParams {
    return sessionQuery(this.context, channels);
  }

  private queueReopen(): void {
    if (this.reopenQueued || this.finished) return;
    this.reopenQueued = true;
    queueMicrotask(() => {
      this.reopenQueued = false;
      this.reopen();
    });
  }

  private reopen(): void {
    if (this.finished) return;
    this.controller?.abort();
    const generation = ++this.generation;
    const channels = this.context.channels();
    // Nothing to carry: ready, and the first subscribe opens the session.
    if (channels.length === 0) return this.markOpen();
    void this.run(generation, channels);
  }
}
