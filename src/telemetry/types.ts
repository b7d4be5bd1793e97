// The tracing interface the server codes against (tracing.ts implements it as a no-op or loads the
// OpenTelemetry one, otel.ts); kept apart so the SDK side imports it without importing its loader.
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
