// Prometheus instruments (prom-client), labelled by app id. Children are bound once per app and
// cached, so a hot-path increment is a property access plus an add — no label hashing.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface AppMetrics {
  connections: Gauge.Internal<string>;
  opened: Counter.Internal;
  messagesIn: Counter.Internal;
  bytesIn: Counter.Internal;
  messagesOut: Counter.Internal;
  bytesOut: Counter.Internal;
  httpPublishes: Counter.Internal;
  clientEventPublishes: Counter.Internal;
  httpRequests: Counter.Internal;
  publishLatency: Histogram.Internal<string>;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly perApp = new Map<string, AppMetrics>();
  private readonly connections = this.gauge('broadcasty_connections', 'Open WebSocket connections');
  private readonly opened = this.counter('broadcasty_connections_opened_total', 'WebSocket connections opened');
  private readonly closed = new Counter({
    name: 'broadcasty_connections_closed_total',
    help: 'WebSocket connections closed, by close code',
    labelNames: ['app_id', 'code'],
    registers: [this.registry],
  });
  private readonly messagesIn = this.counter('broadcasty_ws_messages_received_total', 'WebSocket messages received');
  private readonly bytesIn = this.counter('broadcasty_ws_bytes_received_total', 'WebSocket bytes received');
  private readonly messagesOut = this.counter('broadcasty_ws_messages_sent_total', 'WebSocket messages delivered (fan-out counted per subscriber)');
  private readonly bytesOut = this.counter('broadcasty_ws_bytes_sent_total', 'WebSocket bytes delivered');
  private readonly publishes = new Counter({
    name: 'broadcasty_publishes_total',
    help: 'Events published, by source',
    labelNames: ['app_id', 'source'],
    registers: [this.registry],
  });
  private readonly httpRequests = this.counter('broadcasty_http_requests_total', 'HTTP API requests');
  private readonly publishLatency = new Histogram({
    name: 'broadcasty_publish_latency_seconds',
    help: 'From an HTTP publish arriving to its frames being handed to fan-out',
    labelNames: ['app_id'],
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    registers: [this.registry],
  });
  readonly slowConsumers = new Counter({
    name: 'broadcasty_slow_consumer_closes_total',
    help: 'Sockets closed with 4100 because they buffered more than maxBackpressureBytes',
    labelNames: ['app_id'],
    registers: [this.registry],
  });
  readonly engineHealthy = new Gauge({
    name: 'broadcasty_engine_healthy',
    help: '1 when the engine (Redis in a cluster) is reachable, 0 while degraded',
    registers: [this.registry],
  });

  private readonly webhookDeliveries = new Counter({
    name: 'broadcasty_webhook_deliveries_total',
    help: 'Webhook POSTs by outcome: sent (2xx), retried (a failed attempt that will be retried), failed (given up after the retry window)',
    labelNames: ['app_id', 'outcome'],
    registers: [this.registry],
  });
  private webhookDepth: () => Promise<number> = async () => 0;

  /** outagePublish "queue": events accepted during a Redis outage that aged out (outageQueueMs) before it ended. */
  readonly outageEventsDropped = new Counter({
    name: 'broadcasty_outage_events_dropped_total',
    help: 'Events queued during a Redis outage (outagePublish "queue") and dropped because they were older than outageQueueMs when Redis came back',
    labelNames: ['app_id'],
    registers: [this.registry],
  });

  /** The webhooks module reports through this; see src/webhooks/index.ts. */
  readonly webhooks = {
    sent: (appId: string) => this.webhookDeliveries.labels(appId, 'sent').inc(),
    retried: (appId: string) => this.webhookDeliveries.labels(appId, 'retried').inc(),
    failed: (appId: string) => this.webhookDeliveries.labels(appId, 'failed').inc(),
    observeDepth: (depth: () => Promise<number>) => {
      this.webhookDepth = depth;
    },
  };

  constructor() {
    const metrics = this;
    new Gauge({
      name: 'broadcasty_webhook_queue_depth',
      help: 'Webhook events waiting for delivery in the lanes this node knows',
      registers: [this.registry],
      async collect() {
        this.set(await metrics.webhookDepth());
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'broadcasty_' });
  }

  forApp(appId: string): AppMetrics {
    let bound = this.perApp.get(appId);
    if (bound === undefined) {
      bound = {
        connections: this.connections.labels(appId),
        opened: this.opened.labels(appId),
        messagesIn: this.messagesIn.labels(appId),
        bytesIn: this.bytesIn.labels(appId),
        messagesOut: this.messagesOut.labels(appId),
        bytesOut: this.bytesOut.labels(appId),
        httpPublishes: this.publishes.labels(appId, 'http'),
        clientEventPublishes: this.publishes.labels(appId, 'client_event'),
        httpRequests: this.httpRequests.labels(appId),
        publishLatency: this.publishLatency.labels(appId),
      };
      this.perApp.set(appId, bound);
    }
    return bound;
  }

  connectionClosed(appId: string, code: number): void {
    this.closed.labels(appId, String(code)).inc();
    this.forApp(appId).connections.dec();
  }

  private counter(name: string, help: string): Counter<'app_id'> {
    return new Counter({ name, help, labelNames: ['app_id'], registers: [this.registry] });
  }

  private gauge(name: string, help: string): Gauge<'app_id'> {
    return new Gauge({ name, help, labelNames: ['app_id'], registers: [this.registry] });
  }
}
