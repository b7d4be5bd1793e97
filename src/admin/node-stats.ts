// This node's share of an app's figures for GET /admin/apps/{id}/stats (docs/PROTOCOL.md §17.1):
// its connections by transport and the events published through it. Nothing here runs per
// message: the connections are counted when asked (or on the 1 s tick when a cluster needs the
// snapshot), and the publish totals are the metrics' tallies, sampled once a second for a rate.
import type { Connection } from '../hub/connection.js';
import type { AppMetrics, Metrics } from '../metrics/metrics.js';
import { HttpSession } from '../sessions/http-session.js';

export const TRANSPORTS = ['ws', 'sse', 'poll', 'xhr_streaming', 'xhr_polling'] as const;
export type TransportName = (typeof TRANSPORTS)[number];
export type ByTransport = Record<TransportName, number>;

/** One node's figures for one app. */
export interface AppShare {
  connections: number;
  byTransport: ByTransport;
  /** Events published through this node since it started. */
  published: number;
  /** Over the last RATE_WINDOW samples. */
  perSecond: number;
}

export const noConnections = (): ByTransport => ({ ws: 0, sse: 0, poll: 0, xhr_streaming: 0, xhr_polling: 0 });

/** Session keys start with their kind for SSE and /broadcasty/poll (open-subscribed.ts sessionKey); pusher-js's fallbacks tell by delivery. */
function transportOf(connection: Connection): TransportName {
  const socket = connection.socket;
  if (!(socket instanceof HttpSession)) return 'ws';
  if (socket.id.startsWith('sse:')) return 'sse';
  if (socket.id.startsWith('poll:')) return 'poll';
  return socket.wire.delivery === 'stream' ? 'xhr_streaming' : 'xhr_polling';
}

/** Samples kept per app: the rate spans the last RATE_WINDOW - 1 ticks (~5 s). */
const RATE_WINDOW = 6;

export class NodeStats {
  /** app id → published totals of the last ticks, oldest first. */
  private readonly samples = new Map<string, number[]>();

  constructor(
    private readonly connections: ReadonlyMap<string, Connection>,
    private readonly metrics: Metrics,
  ) {}

  /** Once a second: one sample per app the metrics know. */
  tick(): void {
    for (const [appId, m] of this.metrics.apps()) {
      let ring = this.samples.get(appId);
      if (ring === undefined) this.samples.set(appId, (ring = []));
      ring.push(m.httpPublishes.value + m.clientEventPublishes.value);
      if (ring.length > RATE_WINDOW) ring.shift();
    }
  }

  /** The share of every app with connections or publishes on this node (what a cluster node writes each second). */
  shares(): Record<string, AppShare> {
    const counts = this.countConnections(undefined);
    const shares: Record<string, AppShare> = Object.create(null) as Record<string, AppShare>;
    for (const [appId, m] of this.metrics.apps()) {
      const share = this.shareOf(appId, m, counts.get(appId));
      if (share.connections > 0 || share.published > 0) shares[appId] = share;
    }
    return shares;
  }

  share(appId: string): AppShare {
    return this.shareOf(appId, this.metrics.apps().find(([id]) => id === appId)?.[1], this.countConnections(appId).get(appId));
  }

  private shareOf(appId: string, m: AppMetrics | undefined, byTransport: ByTransport | undefined): AppShare {
    const transports = byTransport ?? noConnections();
    const published = m === undefined ? 0 : m.httpPublishes.value + m.clientEventPublishes.value;
    const ring = this.samples.get(appId);
    const perSecond = ring === undefined || ring.length < 2 ? 0 : (ring[ring.length - 1] - ring[0]) / (ring.length - 1);
    return { connections: TRANSPORTS.reduce((sum, t) => sum + transports[t], 0), byTransport: transports, published, perSecond };
  }

  /** One pass over this node's connections: app id → counts by transport (one app, or all when undefined). */
  private countConnections(only: string | undefined): Map<string, ByTransport> {
    const counts = new Map<string, ByTransport>();
    for (const connection of this.connections.values()) {
      const appId = connection.app?.id;
      if (appId === undefined || (only !== undefined && appId !== only)) continue;
      let byTransport = counts.get(appId);
      if (byTransport === undefined) counts.set(appId, (byTransport = noConnections()));
      byTransport[transportOf(connection)] += 1;
    }
    return counts;
  }
}
