// pusher-js's HTTP fallbacks, xhr_streaming and xhr_polling (docs/PROTOCOL.md §7.2): receive
// requests open a session or attach to it, xhr_send hands its messages to the connection as
// WebSocket text frames. Everything past the handshake is the connection's, as for a WebSocket.
import { text } from '../api/reply.js';
import { decodePathSegment } from '../transport/routes.js';
import type { HttpAnswer, HttpReply, HttpRequest, StreamReply } from '../transport/types.js';
import type { SessionRequest } from './session-request.js';
import type { HttpSession } from './http-session.js';
import { closeFrame, openFrame, POLLING_WIRE, STREAMING_WIRE } from './pusher-wire.js';

const CONTENT_TYPE = 'application/javascript; charset=UTF-8';
/** No cache may keep a session's frames; X-Accel-Buffering stops nginx holding a stream back. */
const RECEIVE_HEADERS: Record<string, string> = {
  'Cache-Control': 'no-store, no-cache, must-revalidate, max-age=0',
  'X-Accel-Buffering': 'no',
};

/** Answered, from another address, for a session that is open (the session is left as it is). */
const ANOTHER_CONNECTION = closeFrame(2010, 'Another connection still open');

/** The table's key: the kind and app key namespace pusher-js's own `{server}/{session}`. */
function sessionId({ match }: SessionRequest): string {
  return `pusher:${decodePathSegment(match[1]!)}/${match[2]!}`;
}

/** A session that is closed and owes its client nothing is no longer held: its id may open again. */
function heldSession(input: SessionRequest): HttpSession | undefined {
  const session = input.sessions.get(sessionId(input));
  if (session?.finished !== true) return session;
  input.sessions.remove(session);
  return undefined;
}

/** POST {httpPath}/app/{key}/{server}/{session}/xhr_streaming | xhr */
export function pusherReceive(input: SessionRequest): HttpAnswer {
  const { request } = input;
  const session = heldSession(input);
  if (session === undefined) return open(input, input.match[3] === 'xhr' ? 'poll' : 'stream');
  if (session.remoteAddress !== request.remoteAddress) return receiveReply(ANOTHER_CONNECTION);
  session.touched();
  return streamReply((out) => session.receive(out));
}

function open(input: SessionRequest, delivery: 'stream' | 'poll'): HttpAnswer {
  const { request, sessions, ctx, match } = input;
  const opened = sessions.open(sessionId(input), request.remoteAddress, {
    appKey: decodePathSegment(match[1]!),
    query: request.query,
    origin: request.headers.origin ?? '',
    tls: request.tls,
    atCapacity: false,
  }, delivery === 'poll' ? POLLING_WIRE : STREAMING_WIRE);
  if (!opened.ok) return { ...text(opened.status, opened.message), headers: { 'Retry-After': '1' } };
  const opening = openFrame(ctx.config.httpSessionHost);
  // A poll's first answer is `o` alone: pusher-js opens on it and polls again for the frames.
  if (delivery === 'poll') return receiveReply(opening);
  const { session } = opened;
  return streamReply((out) => {
    out.write(opening);
    session.receive(out);
  });
}

/** POST {httpPath}/app/{key}/{server}/{session}/xhr_send: a JSON array of Pusher messages. */
export function pusherSend(input: SessionRequest): HttpReply {
  const session = input.sessions.get(sessionId(input));
  // Another address may not speak for a session any more than it may receive from it.
  if (session === undefined || session.isClosed || session.remoteAddress !== input.request.remoteAddress) return text(404, 'Session not found');
  const messages = parseMessages(input.request);
  if (typeof messages === 'string') return text(400, messages);
  session.touched();
  for (const message of messages) session.fromClient(message);
  return { status: 204, body: '', headers: { 'Cache-Control': RECEIVE_HEADERS['Cache-Control']! } };
}

/** The messages, or why the body is not a JSON array of strings. */
function parseMessages(request: HttpRequest): string[] | string {
  let body: unknown;
  try {
    body = JSON.parse(request.body.toString('utf8'));
  } catch {
    return 'Body must be a JSON array of strings (each one Pusher message); it is not JSON';
  }
  if (!Array.isArray(body)) return 'Body must be a JSON array of strings (each one Pusher message); it is not an array';
  const index = body.findIndex((message) => typeof message !== 'string');
  if (index !== -1) return `Body must be a JSON array of strings (each one Pusher message); item ${index} is not a string`;
  return body as string[];
}

const receiveReply = (body: string): HttpReply => ({ status: 200, body, contentType: CONTENT_TYPE, headers: RECEIVE_HEADERS });

// An object literal with its own `stream`: the CORS wrapper spreads answers.
const streamReply = (stream: StreamReply['stream']): StreamReply => ({ status: 200, contentType: CONTENT_TYPE, headers: RECEIVE_HEADERS, stream });
