// Prometheus instruments (prom-client), labelled by app id. The per-app instruments of the hot
// paths are plain tallies (tallies.ts) bound once per app: an increment is a property access plus
// an add, and the prom-client instruments copy them when scraped (collect).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import { Buckets, Tally } from './tallies.js';

export interface AppMetrics {
  connections: Tally;
  opened: Tally;
  messagesIn: Tally;
  bytesIn: Tally;
  messagesOut: Tally;
  bytesOut: Tally;
  httpPublishes: Tally;
  clientEventPublishes: Tally;
  httpRequests: Tally;
  publishLatency: Buckets;
}

type TallyName = Exclude<keyof AppMetrics, 'publishLatency'>;

const PUBLISH_LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5];

export class Metrics {
  readonly registry = new Registry();
  private readonly perApp = new Map<string, AppMetrics>();
  private readonly perAppList: Array<[appId: string, metrics: AppMetrics]> = [];
  private readonly closed = new Counter({
    name: 'broadcasty_connections_closed_total',
    help: 'WebSocket connections closed, by close code',
    labelNames: ['app_id', 'code'],
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

  /** Push sends by outcome (docs/PROTOCOL.md §16.6); see src/push/delivery.ts. */
  readonly push = {
    sent: this.pushCounter('sent', 'Push notifications the provider accepted'),
    failed: this.pushCounter('failed', 'Push sends refused for good, or still failing when the notification expired'),
    retried: this.pushCounter('retried', 'Push send attempts that failed and will be retried'),
    removed: this.pushCounter('removed', 'Devices removed because their provider said the token is dead'),
    sendSeconds: new Histogram({
      name: 'broadcasty_push_send_seconds',
      help: 'Time one push send took at the provider, whatever its outcome',
      labelNames: ['provider'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    }),
  };

  constructor() {
    const metrics = this;
    this.perAppGauge('broadcasty_connections', 'Open WebSocket connections', 'connections');
    this.perAppCounter('broadcasty_connections_opened_total', 'WebSocket connections opened', 'opened');
    new Gauge({
      name: 'broadcasty_webhook_queue_depth',
      help: 'Webhook events waiting for delivery in the lanes this node knows',
      registers: [this.registry],
      async collect() {
        this.set(await metrics.webhookDepth());
      },
    });
    this.perAppCounter('broadcasty_ws_messages_received_total', 'WebSocket messages received', 'messagesIn');
    this.perAppCounter('broadcasty_ws_bytes_received_total', 'WebSocket bytes received', 'bytesIn');
    this.perAppCounter('broadcasty_ws_messages_sent_total', 'WebSocket messages delivered (fan-out counted per subscriber)', 'messagesOut');
    this.perAppCounter('broadcasty_ws_bytes_sent_total', 'WebSocket bytes delivered', 'bytesOut');
    new Counter({
      name: 'broadcasty_publishes_total',
      help: 'Events published, by source',
      labelNames: ['app_id', 'source'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [appId, m] of metrics.perAppList) {
          this.inc({ app_id: appId, source: 'http' }, m.httpPublishes.value);
          this.inc({ app_id: appId, source: 'client_event' }, m.clientEventPublishes.value);
        }
      },
    });
    this.perAppCounter('broadcasty_http_requests_total', 'HTTP API requests', 'httpRequests');
    // Not a prom-client class: the registry only reads name, help, type and the values.
    this.registry.registerMetric(new LatencyHistogram('broadcasty_publish_latency_seconds', 'From an HTTP publish arriving to its frames being handed to fan-out', this.perAppList) as unknown as Metric);
  }

  /**
   * Node's process metrics (memory, CPU, event-loop lag, GC), only once something scrapes: they
   * bring a 10 ms event-loop-delay timer and an observer with a labelled histogram per GC.
   */
  collectProcessMetrics(): void {
    collectDefaultMetrics({ register: this.registry, prefix: 'broadcasty_' });
  }

  forApp(appId: string): AppMetrics {
    let bound = this.perApp.get(appId);
    if (bound === undefined) {
      bound = {
        connections: new Tally(),
        opened: new Tally(),
        messagesIn: new Tally(),
        bytesIn: new Tally(),
        messagesOut: new Tally(),
        bytesOut: new Tally(),
        httpPublishes: new Tally(),
        clientEventPublishes: new Tally(),
        httpRequests: new Tally(),
        publishLatency: new Buckets(PUBLISH_LATENCY_BUCKETS),
      };
      this.perApp.set(appId, bound);
      this.perAppList.push([appId, bound]);
    }
    return bound;
  }

  /** Every app with tallies, for the admin API's per-node figures (src/admin/node-stats.ts). */
  apps(): ReadonlyArray<readonly [appId: string, metrics: AppMetrics]> {
    return this.perAppList;
  }

  connectionClosed(appId: string, code: number): void {
    this.closed.labels(appId, String(code)).inc();
    this.forApp(appId).connections.dec();
  }

  /** A counter by app_id whose values are the apps' tallies at scrape time. */
  private perAppCounter(name: string, help: string, tally: TallyName): void {
    const apps = this.perAppList;
    new Counter({
      name,
      help,
      labelNames: ['app_id'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [appId, m] of apps) this.inc({ app_id: appId }, m[tally].value);
      },
    });
  }

  private pushCounter(outcome: string, help: string): Counter<'app_id' | 'provider'> {
    return new Counter({ name: `broadcasty_push_${outcome}_total`, help, labelNames: ['app_id', 'provider'], registers: [this.registry] });
  }

  private perAppGauge(name: string, help: string, tally: TallyName): void {
    const apps = this.perAppList;
    new Gauge({
      name,
      help,
      labelNames: ['app_id'],
      registers: [this.registry],
      collect() {
        for (const [appId, m] of apps) this.set({ app_id: appId }, m[tally].value);
      },
    });
  }
}

/** One exposition line's value as prom-client's registry renders it: `labels` then `sharedLabels`. */
interface SampleValue {
  metricName: string;
  labels: Record<string, string | number>;
  sharedLabels: Record<string, string>;
  value: number;
}

/**
 * broadcasty_publish_latency_seconds: the apps' Buckets, in the shape prom-client's registry reads
 * from a Histogram (`getForPromString` for the text exposition, `get` for JSON), so the lines
 * are the ones a prom-client Histogram printed.
 */
class LatencyHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly apps: ReadonlyArray<[string, AppMetrics]>,
  ) {}

  async getForPromString(): Promise<{ name: string; help: string; type: string; aggregator: string; values: SampleValue[] }> {
    const values: SampleValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const [appId, m] of this.apps) {
      const { bounds, counts, sum, count } = m.publishLatency;
      const sharedLabels = { app_id: appId };
      let cumulative = 0;
      for (let i = 0; i < bounds.length; i++) {
        cumulative += counts[i]!;
        values.push({ metricName: bucket, labels: { le: bounds[i]! }, sharedLabels, value: cumulative });
      }
      values.push({ metricName: bucket, labels: { le: '+Inf' }, sharedLabels, value: count });
      values.push({ metricName: `${this.name}_sum`, labels: {}, sharedLabels, value: sum });
      values.push({ metricName: `${this.name}_count`, labels: {}, sharedLabels, value: count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: SampleValue[] }> {
    const data = await this.getForPromString();
    return { ...data, values: data.values.map((v) => ({ ...v, labels: { ...v.labels, ...v.sharedLabels } })) };
  }
}
