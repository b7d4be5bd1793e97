// Tracing as the server sees it: a small interface, and a no-op one when `otel.endpoint` is unset.
// This module imports nothing from OpenTelemetry: the SDK (otel.ts) is loaded by startTracing only
// when tracing is configured, so a server without it never loads a single @opentelemetry module.
// Callers on the hot path check `enabled` before building anything for a span.
import type { ServerConfig } from '../config/schema.js';
import type { Logger } from '../logger.js';

export type SpanAttribute = string | number | boolean;

/** What the span stands for, as OpenTelemetry's SpanKind: an incoming request, an outgoing one, or work inside. */
export type SpanRole = 'server' | 'client' | 'internal';

export interface TraceSpan {
  set(name: string, value: SpanAttribute): void;
  /** Status ERROR with the error's message. */
  fail(error: unknown): void;
  end(): void;
}

export interface Tracing {
  /** False: every method is a no-op and callers skip building spans at all. */
  readonly enabled: boolean;
  /** A child of `parent`; without one, the root of a new trace. */
  start(name: string, parent?: TraceSpan, role?: SpanRole): TraceSpan;
  /** A server span continuing the caller's W3C trace context (`traceparent`, `tracestate`) when valid; a new trace otherwise. */
  startFromHeaders(name: string, traceparent: string | undefined, tracestate: string | undefined): TraceSpan;
  /**
   * Runs `call` (an engine publish) with `span` as `deliveryParent`: the local engine fans out
   * synchronously inside the call, so its delivery span finds its parent without async hooks.
   */
  underPublish<T>(span: TraceSpan, call: () => T): T;
  /** The span `underPublish` is running a call for; undefined at any other time. */
  readonly deliveryParent: TraceSpan | undefined;
  /** Exports the spans still buffered, then stops. */
  shutdown(): Promise<void>;
}

/** Shared by every caller while tracing is off: no span object is allocated. */
export const NOOP_SPAN: TraceSpan = Object.freeze({
  set() {},
  fail() {},
  end() {},
});

export const NO_TRACING: Tracing = Object.freeze({
  enabled: false,
  start: () => NOOP_SPAN,
  startFromHeaders: () => NOOP_SPAN,
  underPublish: <T>(_span: TraceSpan, call: () => T): T => call(),
  deliveryParent: undefined,
  shutdown: async () => {},
});

/** Loads the OpenTelemetry SDK only when `otel.endpoint` is set. */
export async function startTracing(config: ServerConfig, log: Logger): Promise<Tracing> {
  const { endpoint, serviceName, sampleRatio } = config.otel;
  if (endpoint === undefined) return NO_TRACING;
  const { OtelTracing } = await import('./otel.js');
  // The host only: a collector URL may carry credentials or a token.
  log.info({ collector: new URL(endpoint).host, serviceName, sampleRatio }, 'tracing on: spans exported over OTLP/HTTP');
  return new OtelTracing({ endpoint, serviceName, sampleRatio }, log);
}
