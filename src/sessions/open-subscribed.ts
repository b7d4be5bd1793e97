// The step SSE and poll share (docs/PROTOCOL.md §15.1): open a session's connection through the
// socket handlers (the handshake's checks), subscribe each channel with a synthesized
// pusher:subscribe (JWT policy, presence from claims, history resume as for any socket), watch
// the answers with the session's tap, and only then choose the HTTP answer: the session, or the
// status the first refusal maps to. Frames that arrive meanwhile wait in the session's queue.
import { randomBytes } from 'node:crypto';
import { channelNameError, channelType, ErrorCode, ErrorMessage } from '../../protocol/index.js';
import { socketRefused } from '../activity/auth-failures.js';
import type { ActivityFeed } from '../activity/feed.js';
import { json } from '../api/reply.js';
import type { App } from '../apps/registry.js';
import { historyFor } from '../history/rules.js';
import type { HttpReply, HttpRequest, UpgradeInfo } from '../transport/types.js';
import { MAX_CURSOR_ENTRIES, StreamPositions, type StreamPoint } from './cursor.js';
import { decodeFrame, type DecodedFrame } from './event-frame.js';
import type { SessionRequest } from './session-request.js';
import type { HttpSession, SessionWire } from './http-session.js';

const MAX_CHANNELS = 100;
/** The longest name any app allows (maxChannelNameLength); the app's own limit is the subscribe's check. */
const MAX_NAME = 200;
/** Frames SSE and poll clients never get: they cannot answer a ping, and the session is the HTTP request. */
const NOT_DELIVERED = new Set(['pusher:connection_established', 'pusher:ping']);

/** How the server closed the session (its close code and reason). */
export interface Closed {
  code: number;
  reason: string;
}

/** A wire of the kinds that subscribe on open: it tracks positions and reports the server's close. */
export abstract class SubscribedWire implements SessionWire {
  readonly positions = new StreamPositions();
  closed: Closed | undefined;
  /** The opening step listens here for a close that comes before its answer. */
  onClose: ((closed: Closed) => void) | undefined;

  abstract frames(frames: readonly string[]): string;

  /** Takes a frame onto the wire: decoded and counted in the positions; undefined when these clients never get it. */
  protected take(frame: string): DecodedFrame | undefined {
    const decoded = decodeFrame(frame);
    if (NOT_DELIVERED.has(decoded.event)) return undefined;
    this.positions.delivered(decoded);
    return decoded;
  }
  abstract readonly heartbeat: string;
  abstract readonly delivery: 'stream' | 'poll';
  readonly answersPings = false;

  /** Nothing more on the wire: the pusher:error frame before the close said why. */
  closing(code: number, reason: string): string {
    this.closed = { code, reason };
    this.onClose?.(this.closed);
    return '';
  }
}

/** What both endpoints read from the query: the app, the channels and the token (§15.1). */
export interface SubscribeQuery {
  appKey: string;
  channels: string[];
  token: string | undefined;
  params: URLSearchParams;
}

export function readSubscribeQuery(request: HttpRequest): SubscribeQuery | HttpReply {
  // URLSearchParams, not parseQuery: a repeated `channel` must stay a list (names may hold commas).
  const params = new URLSearchParams(request.query);
  const channels = [...new Set(params.getAll('channel'))];
  if (channels.length === 0) return refusal(400, 'Missing channel: name 1 to 100 channels (channel=a&channel=b)');
  if (channels.length > MAX_CHANNELS) return refusal(400, `Too many channels: at most ${MAX_CHANNELS}`);
  for (const channel of channels) {
    const kind = channelType(channel).kind;
    if (kind === 'encrypted') return refusal(400, `Encrypted channels cannot be read here: their key comes from an HMAC auth answer (${channel})`, channel);
    if (kind === 'server-to-user' || kind === 'reserved') return refusal(400, `Channel names starting with # are reserved: ${channel}`, channel);
    const nameError = channelNameError(channel, MAX_NAME);
    if (nameError !== null) return refusal(400, nameError, channel);
  }
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  return { appKey: params.get('app') ?? '', channels, token: bearer?.[1] ?? params.get('token') ?? undefined, params };
}

export type Opened = { ok: true; session: HttpSession } | { ok: false; reply: HttpReply };

/** A fresh id for a session of `kind` of the app: 16 hex characters, the table key namespaced by both. */
export function newSessionKey(input: SessionRequest, kind: 'sse' | 'poll', appKey: string): { id: string; key: string } {
  for (;;) {
    const id = randomBytes(8).toString('hex');
    const key = sessionKey(kind, appKey, id);
    if (input.sessions.get(key) === undefined) return { id, key };
  }
}

export const sessionKey = (kind: 'sse' | 'poll', appKey: string, id: string): string => `${kind}:${appKey}:${id}`;

/**
 * Opens the session under `key` and subscribes its channels, resuming history streams from
 * `points`; answers once every channel is subscribed, or with the first refusal (the session is
 * then gone).
 */
export async function openSubscribed(input: SessionRequest, query: SubscribeQuery, key: string, wire: SubscribedWire, points: readonly StreamPoint[]): Promise<Opened> {
  const { request, sessions, ctx } = input;
  const info: UpgradeInfo = {
    appKey: query.appKey,
    // The handshake signs a JWT app's session in with it (§14.2), so sendToUser reaches it.
    query: query.token === undefined ? '' : `token=${encodeURIComponent(query.token)}`,
    origin: request.headers.origin ?? '',
    tls: request.tls,
    atCapacity: false,
  };
  const watch = new OpeningWatch(query.channels);
  wire.onClose = (closed) => watch.closed(closed);
  const opened = sessions.open(key, request.remoteAddress, info, wire);
  if (!opened.ok) return { ok: false, reply: refusal(opened.status, opened.message) };
  const session = opened.session;
  session.tap = (frame) => watch.frame(frame);
  // A session nobody receives from lives httpSessionTimeoutSeconds: the opening gets no longer.
  const cancel = sessions.after(Date.now() + ctx.config.httpSessionTimeoutSeconds * 1000, () => watch.fail(503, 'Timed out opening the session: retry'));
  try {
    await watch.until(() => watch.established);
    const app = session.connection?.app;
    if (watch.failure === undefined && app !== undefined) subscribe(ctx.activity, session, watch, app, query, wire, points);
    await watch.until(() => watch.subscribed);
  } finally {
    cancel();
    session.tap = undefined;
    wire.onClose = undefined;
  }
  const failure = watch.failure;
  if (failure === undefined) return { ok: true, session };
  session.gone();
  sessions.remove(session);
  return { ok: false, reply: refusal(failure.status, failure.message, failure.channel) };
}

function subscribe(activity: ActivityFeed, session: HttpSession, watch: OpeningWatch, app: App, query: SubscribeQuery, wire: SubscribedWire, points: readonly StreamPoint[]): void {
  const tokenChannels = query.channels.filter((c) => ['private', 'presence'].includes(channelType(c).kind));
  if (app.authMode === 'hmac' && tokenChannels.length > 0) {
    const reason = `App ${query.appKey} takes Pusher signatures only (authMode hmac): private and presence channels need a JWT app here`;
    if (session.connection !== undefined) socketRefused(activity, app, session.connection, 'subscribe', reason, tokenChannels[0]);
    return watch.fail(401, reason, tokenChannels[0]);
  }
  const history = new Set(query.channels.filter((c) => historyFor(app, c) !== undefined));
  let streams = 0;
  for (const channel of history) streams += historyFor(app, channel)!.partitions;
  if (streams > MAX_CURSOR_ENTRIES) return watch.fail(400, `Too many history streams: a cursor holds at most ${MAX_CURSOR_ENTRIES} positions, these channels have ${streams}`);
  watch.errorFrames = app.subscriptionErrorFrames;
  const resumed = points.filter((p) => history.has(p.channel));
  wire.positions.startFrom(resumed);
  for (const channel of query.channels) {
    const resume = resumed.filter((p) => p.channel === channel).map(({ partition, epoch, offset }) => ({ partition, epoch, offset }));
    const auth = tokenChannels.includes(channel) ? query.token : undefined;
    // Refusals of the subscribe's own checks come back synchronously: they belong to this channel.
    watch.sending = channel;
    session.fromClient(JSON.stringify({ event: 'pusher:subscribe', data: { channel, auth, resume: resume.length === 0 ? undefined : resume } }));
    watch.sending = undefined;
    if (watch.failure !== undefined) return;
  }
}

interface Failure {
  status: number;
  message: string;
  channel?: string;
}

/** The opening request's view of the frames its session gets (§15.1's table). */
class OpeningWatch {
  established = false;
  failure: Failure | undefined;
  /** The channel whose subscribe is being handed to the connection. */
  sending: string | undefined;
  /** Whether channel refusals also come as subscription_error, with a status (the app's subscriptionErrorFrames). */
  errorFrames = true;
  private readonly pending: Set<string>;
  /** The fatal pusher:error before a close: its message is whole, the close reason is cut to 123 bytes. */
  private fatal: string | undefined;
  private wake: (() => void) | undefined;

  constructor(channels: readonly string[]) {
    this.pending = new Set(channels);
  }

  get subscribed(): boolean {
    return this.pending.size === 0;
  }

  /** Resolves once `done()` holds or the opening failed. */
  until(done: () => boolean): Promise<void> {
    if (this.failure !== undefined || done()) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = () => {
        if (this.failure === undefined && !done()) return;
        this.wake = undefined;
        resolve();
      };
    });
  }

  fail(status: number, message: string, channel?: string): void {
    this.failure ??= { status, message, channel };
    this.wake?.();
  }

  closed({ code, reason }: Closed): void {
    const message = this.fatal ?? reason;
    this.fail(statusOfClose(code, message), message);
  }

  frame(text: string): void {
    const frame = decodeFrame(text);
    switch (frame.event) {
      case 'pusher:connection_established':
        this.established = true;
        break;
      case 'pusher_internal:subscription_succeeded':
        if (frame.channel !== undefined) this.pending.delete(frame.channel);
        break;
      case 'pusher:subscription_error': {
        const answer = parsed(frame.data);
        const status = typeof answer.status === 'number' ? answer.status : 403;
        // 4100 (presence channel full, too many channels) is a limit, not an HTTP status.
        this.fail(status >= 400 && status < 600 ? status : 403, String(answer.error ?? 'Subscription refused'), frame.channel);
        break;
      }
      case 'pusher:error': {
        const { code, message } = (frame.data ?? {}) as { code?: number | null; message?: string };
        if (typeof code === 'number') this.fatal = message;
        // A refusal on a channel is followed by subscription_error, read above, unless the app turned those off.
        else if (frame.channel === undefined) this.fail(this.sending === undefined ? 503 : 400, String(message), this.sending);
        else if (!this.errorFrames) this.fail(403, String(message), frame.channel);
        break;
      }
    }
    this.wake?.();
  }
}

/** subscription_error's data is a JSON string; the frame goes to this session only. */
function parsed(data: unknown): Record<string, unknown> {
  try {
    return typeof data === 'string' ? (JSON.parse(data) as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** The status a handshake refusal or an early close maps to (§15.1). */
function statusOfClose(code: number, message: string): number {
  switch (code) {
    case ErrorCode.UnknownApp:
      return 404;
    case ErrorCode.AppDisabled:
    case ErrorCode.TlsOnly:
      return 403;
    case ErrorCode.OverQuota:
      return 429;
    case ErrorCode.Unauthorized:
      return message === ErrorMessage.originNotAllowed ? 403 : 401;
    case ErrorCode.TokenExpired:
      return 401;
    default:
      // Draining (4200), over capacity (4100), Redis out of reach, a close before the answer.
      return 503;
  }
}

/** `{"error": …, "channel": …}`; 429 and 503 say when to retry. */
export function refusal(status: number, message: string, channel?: string): HttpReply {
  const reply = json(channel === undefined ? { error: message } : { error: message, channel }, status);
  return status === 429 || status === 503 ? { ...reply, headers: { 'Retry-After': '1' } } : reply;
}
