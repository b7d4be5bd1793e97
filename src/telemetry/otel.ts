// Tracing on: the OpenTelemetry SDK, loaded only by tracing.ts's startTracing (dynamic import).
// Spans go through a BatchSpanProcessor to the collector as OTLP/HTTP JSON. Parents are passed
// explicitly (no context manager, no async hooks): every span is started under the parent its
// caller hands over, or the caller's W3C trace context.
import { createTraceState, isSpanContextValid, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Span, type SpanContext, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Logger } from '../logger.js';
import { packageVersion } from '../version.js';
import type { SpanAttribute, SpanRole, TraceSpan, Tracing } from './types.js';

const KINDS: Record<SpanRole, SpanKind> = { server: SpanKind.SERVER, client: SpanKind.CLIENT, internal: SpanKind.INTERNAL };

/** ExportResultCode.SUCCESS of @opentelemetry/core (not a dependency of ours). */
const EXPORT_SUCCESS = 0;

/**
 * W3C Trace Context `traceparent`: version-traceid-parentid-flags. Version ff is invalid; a later
 * version may append fields, version 00 may not.
 */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** The caller's span as a remote parent; undefined when the header is not a valid traceparent. */
export function remoteParent(traceparent: string, tracestate: string | undefined): SpanContext | undefined {
  const match = TRACEPARENT.exec(traceparent.trim());
  if (match === null || match[1] === 'ff' || (match[1] === '00' && match[5] !== undefined)) return undefined;
  const parent: SpanContext = {
    traceId: match[2],
    spanId: match[3],
    traceFlags: Number.parseInt(match[4], 16) & TraceFlags.SAMPLED,
    isRemote: true,
    traceState: tracestate === undefined ? undefined : createTraceState(tracestate),
  };
  return isSpanContextValid(parent) ? parent : undefined;
}

class OtelSpan implements TraceSpan {
  constructor(readonly span: Span) {}

  set(name: string, value: SpanAttribute): void {
    this.span.setAttribute(name, value);
  }

  fail(error: unknown): void {
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  }

  end(): void {
    this.span.end();
  }
}

/** Says once that the collector stopped taking spans, and once that it is back: not a line per batch. */
class ReportingExporter implements SpanExporter {
  private failing = false;

  constructor(
    private readonly exporter: OTLPTraceExporter,
    private readonly log: Logger,
  ) {}

  export(spans: ReadableSpan[], done: Parameters<SpanExporter['export']>[1]): void {
    this.exporter.export(spans, (result) => {
      const failed = result.code !== EXPORT_SUCCESS;
      if (failed && !this.failing) this.log.warn({ err: result.error?.message, spans: spans.length }, 'trace export failed; spans are dropped until the collector answers');
      if (!failed && this.failing) this.log.info('trace export works again');
      this.failing = failed;
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.exporter.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.exporter.forceFlush();
  }
}

export interface OtelSettings {
  /** The collector's OTLP/HTTP traces URL. */
  endpoint: string;
  serviceName: string;
  /** Fraction of new traces sampled; a caller's traceparent decides for its own trace. */
  sampleRatio: number;
}

export class OtelTracing implements Tracing {
  readonly enabled = true;
  deliveryParent: TraceSpan | undefined = undefined;
  private readonly provider: BasicTracerProvider;
  private readonly tracer: Tracer;

  constructor(settings: OtelSettings, log: Logger) {
    const version = packageVersion();
    const exporter = new ReportingExporter(new OTLPTraceExporter({ url: settings.endpoint }), log);
    // Any browser can send a sampled traceparent to /broadcasty/publish: a sampled remote parent
    // goes through the ratio too (by trace id, so every node decides a trace alike), an unsampled
    // one stays unsampled.
    const ratio = new TraceIdRatioBasedSampler(settings.sampleRatio);
    this.provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': settings.serviceName, 'service.version': version }),
      sampler: new ParentBasedSampler({ root: ratio, remoteParentSampled: ratio }),
      spanProcessors: [new BatchSpanProcessor(exporter)],
    });
    this.tracer = this.provider.getTracer('broadcasty', version);
  }

  start(name: string, parent?: TraceSpan, role: SpanRole = 'internal'): TraceSpan {
    const context = parent instanceof OtelSpan ? trace.setSpan(ROOT_CONTEXT, parent.span) : ROOT_CONTEXT;
    return new OtelSpan(this.tracer.startSpan(name, { kind: KINDS[role] }, context));
  }

  startFromHeaders(name: string, traceparent: string | undefined, tracestate: string | undefined): TraceSpan {
    const parent = traceparent === undefined ? undefined : remoteParent(traceparent, tracestate);
    const context = parent === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, parent);
    return new OtelSpan(this.tracer.startSpan(name, { kind: SpanKind.SERVER }, context));
  }

  underPublish<T>(span: TraceSpan, call: () => T): T {
    this.deliveryParent = span;
    try {
      return call();
    } finally {
      this.deliveryParent = undefined;
    }
  }

  shutdown(): Promise<void> {
    return this.provider.shutdown();
  }
}
