// `broadcasty.http.publish`: the span of one HTTP publish request (POST /events, /batch_events,
// /broadcasty/publish), continuing the publisher's W3C trace context when it sends one (a
// Laravel app's trace goes on into Broadcasty). The endpoint adds what it parsed and hands the
// span to the pipeline as the parent of its engine publishes.
import type { Endpoint, EndpointInput } from './endpoint.js';
import { errorReply } from './error-reply.js';
import { text } from './reply.js';
import type { HttpReply } from '../transport/types.js';
import { NOOP_SPAN, type TraceSpan } from '../telemetry/tracing.js';

export type TracedEndpoint = (input: EndpointInput, span: TraceSpan) => Promise<HttpReply>;

/** Off, the endpoint runs as it is, with the shared no-op span: no span, no extra promise. */
export function withPublishSpan(endpoint: TracedEndpoint): Endpoint {
  return (input) => (input.ctx.tracing.enabled ? traced(endpoint, input) : endpoint(input, NOOP_SPAN));
}

async function traced(endpoint: TracedEndpoint, input: EndpointInput): Promise<HttpReply> {
  const span = input.ctx.tracing.startFromHeaders('broadcasty.http.publish', input.headers.traceparent, input.headers.tracestate);
  span.set('broadcasty.app_id', input.app.id);
  span.set('http.request.body.size', input.body.length);
  try {
    const reply = await endpoint(input, span);
    span.set('http.response.status_code', reply.status);
    return reply;
  } catch (error) {
    span.set('http.response.status_code', statusOf(error));
    span.fail(error);
    throw error;
  } finally {
    span.end();
  }
}

/** The status the router (api/router.ts) answers a thrown error with: errorReply's, else its 500. */
const statusOf = (error: unknown): number => errorReply(error, text)?.status ?? 500;

/** What one published event was: set once the endpoint has parsed it. */
export function describeEvent(span: TraceSpan, event: string, channels: number, bytes: number): void {
  span.set('broadcasty.event', event);
  span.set('broadcasty.channel_count', channels);
  span.set('broadcasty.bytes', bytes);
}
