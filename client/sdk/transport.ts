// What the client asks of a transport (WebSocket, SSE, long-polling) and what it hears back. The
// client owns the channels and their positions; a transport carries them on its wire: the
// WebSocket sends `pusher:subscribe` with `resume` (docs/PROTOCOL.md §13.3), SSE and poll name
// the channels in the query and the positions in a resume cursor (§15.4).
import { formatCursor, type StreamPoint } from '../../protocol/cursor.js';
import type { ResumeData } from '../positions.js';
import type { Frame } from './wire.js';
import type { TransportName, WebSocketConstructor } from './types.js';

export interface ChannelRequest {
  channel: string;
  /** The token on private and presence channels (JWT mode, §14.2); '' on public ones. */
  auth: string;
  resume?: ResumeData;
}

export interface TransportEvents {
  /** Ready: `connection_established` (ws), the stream's 200 (sse), the first answer (poll). */
  open(): void;
  frame(frame: Frame): void;
  /** An HTTP transport's subscribe was refused (§15.1): the status, the server's message, the channel when it named one. */
  refused(status: number, message: string, channel: string | undefined): void;
  /** Gone for good; `code` is the close code (1006 for a network failure). */
  close(code: number, reason: string, opened: boolean): void;
}

export interface TransportContext {
  /** The server's HTTP base URL without a trailing slash. */
  url: string;
  appKey: string;
  token: string | null;
  fetch: typeof fetch;
  WebSocket: WebSocketConstructor | undefined;
  /** SSE: silence (not even the heartbeat) this long means a dead connection. */
  sseIdleMs: number;
  /** Poll: one request without an answer this long counts as a lost answer. */
  pollTimeoutMs: number;
  /** The channels to carry now, with their resume positions. */
  channels(): ChannelRequest[];
  events: TransportEvents;
  debug(message: string, fields?: Record<string, unknown>): void;
}

export interface Transport {
  readonly name: TransportName;
  /** A channel added while the transport is up. */
  subscribe(request: ChannelRequest): void;
  unsubscribe(channel: string): void;
  close(): void;
}

export const SDK_VERSION = '0.1.0';

/** What an HTTP refusal body says (§15.1: `{"error", "channel"}`). */
export async function refusalOf(response: Response): Promise<{ message: string; channel: string | undefined }> {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: unknown; channel?: unknown };
    return { message: typeof body.error === 'string' ? body.error : text, channel: typeof body.channel === 'string' ? body.channel : undefined };
  } catch {
    return { message: text || `HTTP ${response.status}`, channel: undefined };
  }
}

/** `?app=…&channel=…` of an SSE or poll request. */
export function sessionQuery(context: TransportContext, channels: ChannelRequest[]): URLSearchParams {
  const query = new URLSearchParams({ app: context.appKey });
  for (const { channel } of channels) query.append('channel', channel);
  return query;
}

/** The resume cursor (§15.4) of the channels' positions, in the server's own format. */
export function cursorOf(channels: ChannelRequest[]): string {
  const points: StreamPoint[] = [];
  for (const { channel, resume } of channels) {
    if (resume === undefined) continue;
    for (const { partition, epoch, offset } of Array.isArray(resume) ? resume : [{ ...resume, partition: 0 }]) points.push({ channel, partition, epoch, offset });
  }
  return formatCursor(points);
}

export function authHeaders(context: TransportContext): Record<string, string> {
  return context.token === null ? {} : { authorization: `Bearer ${context.token}` };
}
