// Tracing as the server sees it: a small interface, and a no-op one when `otel.endpoint` is unset.
// This module imports nothing from OpenTelemetry: the SDK (otel.ts) is loaded by startTracing only
// when tracing is configured, so a server without it never loads a single @opentelemetry module.
// Callers on the hot path check `enabled` before building anything for a span.
import type { ServerConfig } from '../config/schema.js';
import type { Logger } from '../logger.js';
import type { TraceSpan, Tracing } from './types.js';

export type { SpanAttribute, SpanRole, TraceSpan, Tracing } from './types.js';

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
