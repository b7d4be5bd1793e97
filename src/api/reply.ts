import type { HttpReply } from '../transport/types.js';

export const json = (body: unknown, status = 200): HttpReply => ({ status, body: JSON.stringify(body) });

/** An object keyed by channel names: null prototype, so a channel named `__proto__` is a key like any other. */
export const byChannel = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;

/** Errors are short plain text, as hosted Pusher and Reverb send them; SDKs show the body as is. */
export const text = (status: number, message: string): HttpReply => ({ status, body: message, contentType: 'text/plain; charset=utf-8' });

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Errors of the JWT endpoints (docs/PROTOCOL.md §14.5, §14.7): `{"error": message}`. */
export const jsonError = (status: number, message: string): HttpReply => json({ error: message }, status);
