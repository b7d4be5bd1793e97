import type { HttpReply } from '../transport/types.js';

export const json = (body: unknown, status = 200): HttpReply => ({ status, body: JSON.stringify(body) });

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
