// The one publish path for server-side events (HTTP API, and later Broadcasty publish and
// internal events): cache store, then engine fan-out with the frame encoded once per channel.
import { channelType, encodeEvent } from '../../protocol/index.js';
import type { App } from '../apps/registry.js';
import type { Engine, StreamPosition } from '../engine/types.js';
import type { Metrics } from '../metrics/metrics.js';

export interface ServerEvent {
  name: string;
  data: string;
  channels: string[];
  socketId?: string;
}

export class Publisher {
  constructor(
    private readonly engine: Engine,
    private readonly metrics: Metrics,
  ) {}

  async publish(app: App, event: ServerEvent): Promise<void> {
    const started = performance.now();
    if (event.channels.length === 1) await this.publishOne(app, event, event.channels[0]);
    else await Promise.all(event.channels.map((channel) => this.publishOne(app, event, channel)));
    const m = this.metrics.forApp(app.id);
    m.publishLatency.observe((performance.now() - started) / 1000);
    m.httpPublishes.inc();
  }

  private async publishOne(app: App, event: ServerEvent, channel: string): Promise<StreamPosition> {
    if (channelType(channel).cache) await this.engine.setCache(app.id, channel, event.name, event.data, app.cacheTtl);
    return this.engine.publish({
      appId: app.id,
      channel,
      frame: encodeEvent(event.name, event.data, channel),
      exceptSocketId: event.socketId,
      sequenced: true,
      durable: true,
    });
  }
}
