// Small shared helpers for the WebSocket cases: assertions with wire-level messages, unique
// channel names, sockets that close themselves at cleanup, and the special-app credentials.
import { isDeepStrictEqual } from 'node:util';
import type { CaseContext, Target } from '../types.js';
import { RawSocket, type ConnectOptions, type Frame } from './raw-socket.js';

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** Deep equality ignoring key order (no client depends on it, PROTOCOL §0). */
export function assertEqual(actual: unknown, expected: unknown, what: string): void {
  if (!isDeepStrictEqual(actual, expected)) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

let counter = 0;
/** Channel / user names unique per run, so cases never see each other's traffic on a shared server. */
export function uniq(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${(counter++).toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** A connected RawSocket that the case's cleanup terminates. */
export async function connect(ctx: CaseContext, opts: ConnectOptions = {}): Promise<RawSocket> {
  const socket = await RawSocket.connect(ctx.target, opts);
  ctx.cleanup(() => socket.terminate());
  return socket;
}

/** RawSocket.open (no handshake awaited) with cleanup. */
export async function openRaw(ctx: CaseContext, opts: ConnectOptions = {}): Promise<RawSocket> {
  const socket = await RawSocket.open(ctx.target, opts);
  ctx.cleanup(() => socket.terminate());
  return socket;
}

/** Connect options for one of the server-configured apps named by Target.options. */
export function app(ctx: CaseContext, keyOption: string, secretOption?: string): ConnectOptions {
  const key = ctx.target.options[keyOption];
  assert(key, `option ${keyOption} missing`);
  const secret = secretOption ? ctx.target.options[secretOption] : undefined;
  return secretOption ? { key, secret } : { key };
}

/** The target seen as another app of the same server (for HTTP calls on that app). */
export function appTarget(ctx: CaseContext, idOption: string, keyOption: string, secretOption: string): Target {
  const o = ctx.target.options;
  return { ...ctx.target, appId: o[idOption]!, key: o[keyOption]!, secret: o[secretOption]! };
}

export const isError = (f: Frame) => f.event === 'pusher:error';

/** pusher:error `data` must be an object `{code, message}` (PROTOCOL §2.4). */
export function errorData(frame: Frame): { code: number | null; message: string } {
  assert(frame.event === 'pusher:error', `expected pusher:error, got ${frame.raw}`);
  const data = frame.data as { code?: unknown; message?: unknown } | undefined;
  assert(data && typeof data === 'object', `pusher:error data must be an object {code, message}: ${frame.raw}`);
  assert(data.code === null || Number.isInteger(data.code), `pusher:error code must be an integer or null: ${frame.raw}`);
  assert(typeof data.message === 'string', `pusher:error message must be a string: ${frame.raw}`);
  return data as { code: number | null; message: string };
}

/**
 * The server must answer with an in-band `pusher:error` (optionally with `code`) and keep the
 * socket open. Returns the error frame.
 */
export async function expectInBandError(socket: RawSocket, what: string, code?: number | null): Promise<Frame> {
  const frame = await socket.next(isError, 3000, `pusher:error for ${what}`);
  const data = errorData(frame);
  if (code !== undefined) assertEqual(data.code, code, `${what}: pusher:error code`);
  await socket.assertAlive(`socket after ${what}`);
  return frame;
}

/**
 * Expects `pusher:error` {code} as the next frame (server pings aside), then Close(code): the §1.4
 * pair for a refused or terminated connection.
 */
export async function expectErrorThenClose(socket: RawSocket, code: number, what: string, timeoutMs = 5000): Promise<void> {
  const frame = await socket.next((f) => f.event !== 'pusher:ping', timeoutMs, `pusher:error ${code} (${what})`);
  assertEqual(frame.event, 'pusher:error', `${what}: first frame event`);
  assertEqual(errorData(frame).code, code, `${what}: pusher:error code`);
  const close = await closedWithin(socket, 5000);
  assertEqual(close.code, code, `${what}: close code`);
}

export async function closedWithin(socket: RawSocket, ms: number): Promise<{ code: number; reason: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`socket ${socket.socketId} not closed within ${ms} ms`)), ms)));
  try {
    return await Promise.race([socket.closed, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Predicate: a frame for `event` on `channel`. */
export const on = (channel: string, event: string) => (f: Frame) => f.channel === channel && f.event === event;

/** Presence channel_data as pusher-js / the SDKs send it. */
export const member = (userId: string | number, userInfo?: unknown): string =>
  JSON.stringify(userInfo === undefined ? { user_id: userId } : { user_id: userId, user_info: userInfo });
