// Frames as every transport delivers them (the Pusher frame of docs/PROTOCOL.md §2, with the
// Broadcasty fields of §13.2 and §14.5), turned into the Message the app's handlers get.
import { isRecord, parseRecord, partitionOf, positionOf } from '../resume.js';
import { BroadcastyError, type ErrorCode, type Message } from './types.js';

/** One received frame: `event` always, `channel` on channel frames. */
export type Frame = Record<string, unknown> & { event: string };

export function asFrame(value: unknown): Frame | undefined {
  const record = typeof value === 'string' ? parseRecord(value) : isRecord(value) ? value : undefined;
  return record !== undefined && typeof record.event === 'string' ? (record as Frame) : undefined;
}

/** `data` JSON-decoded when it parses, else the string as sent (publish() always JSON-encodes). */
export function decodeData(data: unknown): unknown {
  if (typeof data !== 'string') return data;
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}

/** A frame's data as an object: Pusher sends it as a JSON string or (pusher:error) an object. */
export function dataRecord(frame: Frame): Record<string, unknown> {
  const data = frame.data;
  return (typeof data === 'string' ? parseRecord(data) : isRecord(data) ? data : undefined) ?? {};
}

export function toMessage(channel: string, frame: Frame): Message {
  const message: Message = { channel, event: frame.event, data: decodeData(frame.data) };
  const position = positionOf(frame);
  if (position !== undefined) {
    const partition = partitionOf(frame);
    message.position = partition === undefined ? position : { ...position, partition };
  }
  if (typeof frame.correlation_id === 'string') message.correlationId = frame.correlation_id;
  if (isRecord(frame.meta)) message.meta = frame.meta;
  if (typeof frame.user_id === 'string') message.userId = frame.user_id;
  return message;
}

/** The code an HTTP status (or a subscription_error's status) means to the app. */
const CODE_OF_STATUS: [test: (status: number) => boolean, code: ErrorCode][] = [
  [(s) => s === 400 || s === 413, 'bad_request'],
  [(s) => s === 401, 'unauthorized'],
  [(s) => s === 403 || s === 4100, 'forbidden'],
  [(s) => s === 404, 'unsupported'],
  [(s) => s === 429, 'rate_limited'],
  [(s) => s >= 500 && s < 600, 'server_error'],
];

export function errorOfStatus(status: number | undefined, message: string): BroadcastyError {
  const code = status === undefined ? undefined : CODE_OF_STATUS.find(([test]) => test(status))?.[1];
  return new BroadcastyError(code ?? 'forbidden', message, status);
}

/** `token=…` in a URL, for log lines: tokens never reach the log. */
export function redact(text: string): string {
  return text.replace(/([?&]token=)[^&\s]*/g, '$1[redacted]');
}

/** A log line's fields with every string value redacted (a URL among them may carry the token). */
export function redactFields(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).map(([name, value]) => [name, typeof value === 'string' ? redact(value) : value]));
}
