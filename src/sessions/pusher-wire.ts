// The SockJS-like wire of pusher-js's HTTP fallbacks (docs/PROTOCOL.md §7.2): newline-terminated
// frames `o`, `a["…"]`, `h`, `c[code,"reason"]`, read line by line by pusher-js's http_request.ts.
import { frameCache } from './frame-cache.js';
import type { SessionWire } from './http-session.js';

/** Pusher frames as JSON strings, escaped once per publish however many sessions carry them. */
const encode = frameCache(256, (frame) => JSON.stringify(frame));

class PusherWire implements SessionWire {
  readonly heartbeat = 'h\n';
  readonly answersPings = true;

  constructor(readonly delivery: 'stream' | 'poll') {}

  frames(frames: readonly string[]): string {
    if (frames.length === 1) return `a[${encode(frames[0]!)}]\n`;
    return `a[${frames.map(encode).join(',')}]\n`;
  }

  closing(code: number, reason: string): string {
    return closeFrame(code, reason);
  }
}

/** Stateless, so one instance per transport serves every session. */
export const STREAMING_WIRE: SessionWire = new PusherWire('stream');
export const POLLING_WIRE: SessionWire = new PusherWire('poll');

export const closeFrame = (code: number, reason: string): string => `c${JSON.stringify([code, reason])}\n`;

/** `o`, or `o{"hostname":…}` that moves the rest of the session to that host (pusher-js http_socket.ts onOpen). */
export const openFrame = (hostname: string | undefined): string => (hostname === undefined ? 'o\n' : `o${JSON.stringify({ hostname })}\n`);
