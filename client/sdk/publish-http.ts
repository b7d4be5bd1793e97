// One publish over `POST /broadcasty/publish` (docs/PROTOCOL.md §14.5–§14.7): the bearer token,
// fresh anti-replay headers per attempt, the entry's id as the idempotency key (§13.5), and the
// answer mapped to a PublishResult or a BroadcastyError the outbox can tell retryable by.
import type { OutboxOptions } from './outbox.js';
import { randomId } from './ids.js';
import { BroadcastyError, type ErrorCode, type PublishResult } from './types.js';

/** Answers other than 200, by status (§14.7); other 5xx are server_error, other 4xx bad_request. */
const ERROR_BY_STATUS: Record<number, ErrorCode> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'unsupported',
  // The first attempt with this idempotency key is still publishing: retry later, it never duplicates.
  409: 'server_error',
  413: 'bad_request',
  429: 'rate_limited',
};

const UNSUPPORTED = 'this server has no Broadcasty publish endpoint: a plain Pusher server, or the app is in hmac mode';

export function httpPublisher(base: { url: string; appKey: string; fetch: typeof fetch }): OutboxOptions['send'] {
  const endpoint = `${base.url.replace(/\/+$/, '')}/broadcasty/publish?app=${encodeURIComponent(base.appKey)}`;
  // Called unbound: a browser's fetch throws "Illegal invocation" when called as a method of another object.
  const post = base.fetch;
  return async (entry, token, timeoutMs) => {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-broadcasty-nonce': randomId(),
      'x-broadcasty-timestamp': String(Math.floor(Date.now() / 1000)),
    };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const body = JSON.stringify({
      channel: entry.channel,
      event: entry.event,
      data: entry.data,
      meta: entry.meta,
      correlationId: entry.correlationId,
      idempotencyKey: entry.id,
      partitionKey: entry.partitionKey,
    });
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    let status: number;
    let text: string;
    let retryAfter: string | null;
    try {
      const response = await post(endpoint, { method: 'POST', headers, body, signal: abort.signal });
      status = response.status;
      retryAfter = response.headers.get('retry-after');
      text = await response.text();
    } catch (error) {
      if (abort.signal.aborted) throw new BroadcastyError('timeout', `publish to ${entry.channel}: no answer within ${timeoutMs} ms`);
      throw new BroadcastyError('network', `publish to ${entry.channel}: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      clearTimeout(timer);
    }
    if (status === 200) return resultOf(text);
    const code = ERROR_BY_STATUS[status] ?? (status >= 500 ? 'server_error' : 'bad_request');
    const error = new BroadcastyError(code, code === 'unsupported' ? UNSUPPORTED : `publish to ${entry.channel}: ${status} ${reasonOf(text)}`, status);
    // Seconds only: the server never sends the HTTP-date form.
    const seconds = Number(retryAfter);
    if (retryAfter !== null && retryAfter.trim() !== '' && Number.isFinite(seconds) && seconds >= 0) error.retryAfterMs = seconds * 1000;
    throw error;
  };
}

function resultOf(text: string): PublishResult {
  const answer = parsed(text) as { position?: PublishResult['position'] } | undefined;
  return answer?.position === undefined ? {} : { position: answer.position };
}

/** The `{"error": …}` of §14.5, else the body as it came (a 413 from the transport is plain text). */
function reasonOf(text: string): string {
  const answer = parsed(text) as { error?: unknown } | undefined;
  return typeof answer?.error === 'string' ? answer.error : text.slice(0, 200);
}

function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
