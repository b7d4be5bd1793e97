// The Redis engine's Broker: every publish is one script (on a history channel the stream
// position and history, then bus log and PUBLISH) and every node, this one included, delivers
// from the bus, so a channel has one order everywhere. While Redis is out of reach an HTTP API
// event (durable) is refused or queued (outagePublish), never delivered on this node only behind
// a 200; other frames (client events, presence, counts) reach this node's sockets, on a history
// channel at positions of this node's own streams.
import type { ServerConfig } from '../config/schema.js';
import type { Logger } from '../logger.js';
import type { LocalEngine } from './local.js';
import { Outbox } from './outbox.js';
import type { RedisKeys } from './redis-keys.js';
import type { Scripts } from './redis-scripts.js';
import { STREAM_IDLE_MS } from './streams.js';
import { EngineUnavailableError, UNSEQUENCED, type Broker, type EngineHooks, type Publication, type StreamPosition } from './types.js';

const STREAM_IDLE_S = STREAM_IDLE_MS / 1000;
/** The engine's reconnect attempts back off up to 2 s: a publisher refused with 503 may retry after that. */
const RETRY_AFTER_S = 2;

/** What only Redis can answer (leases, token guards: docs/PROTOCOL.md §14.5, §14.6) while it is out of reach: callers answer 503. */
export function outOfReach(what: string): never {
  throw new EngineUnavailableError(`Service unavailable: the cluster's Redis is out of reach, so ${what} cannot be checked cluster-wide; retry later`, RETRY_AFTER_S);
}

/** The engine's state of its Redis link, as the broker needs it. */
export interface BrokerLink {
  /** Both connections ready and every app's bus subscribed. */
  linked(): boolean;
  /** A script failed: the engine decides whether Redis is down, stalled or in doubt. */
  failed(error: unknown): void;
}

type BrokerConfig = Pick<ServerConfig, 'busLogLength' | 'outagePublish' | 'outageQueueMs'>;

export class RedisBroker implements Broker {
  private readonly outbox: Outbox;

  constructor(
    private readonly scripts: Scripts,
    private readonly keys: RedisKeys,
    private readonly config: BrokerConfig,
    /** This node's engine: delivers here, with its own stream positions, while Redis is out of reach. */
    private readonly local: LocalEngine,
    private readonly link: BrokerLink,
    /** Names this node on the bus, for messages its sockets already got. */
    private readonly node: string,
    log: Logger,
    hooks: EngineHooks,
  ) {
    this.outbox = new Outbox(config.outageQueueMs, (appId, count) => {
      hooks.outageEventsDropped(appId, count);
      log.error({ appId, count, outageQueueMs: config.outageQueueMs }, 'events queued during the Redis outage were dropped: older than outageQueueMs');
    });
  }

  /** Publications queued during an outage, not yet sent to the other nodes. */
  get queued(): number {
    return this.outbox.size;
  }

  async publish(p: Publication): Promise<StreamPosition> {
    // Behind queued publications a new durable one queues too, so the order holds across an outage.
    if (p.durable !== true || this.outbox.size === 0) {
      const position = await this.fanOut(p, '');
      if (position !== undefined) return position;
    }
    if (p.durable !== true) return this.local.publish(p);
    if (this.config.outagePublish === 'queue' && this.outbox.add(p, Date.now())) {
      // This node's sockets get it now, at a position of this node's own stream (its own epoch);
      // the flush skips this node.
      const position = this.local.publish(p);
      this.flush();
      return position;
    }
    const why = this.config.outagePublish === 'queue' ? 'the outage queue is full' : 'outagePublish is "reject"';
    throw new EngineUnavailableError(`Service unavailable: the cluster's Redis is out of reach and ${why}; retry later`, RETRY_AFTER_S);
  }

  /**
   * An unsequenced frame from the cluster's bookkeeping (a dead node's members); skipSelf leaves
   * out this node's sockets (they know already). Without Redis only this node's sockets get it.
   */
  async announce(appId: string, channel: string, frame: string, skipSelf: boolean): Promise<void> {
    const sent = await this.fanOut({ appId, channel, frame }, skipSelf ? this.node : '');
    if (sent === undefined && !skipSelf) await this.local.publish({ appId, channel, frame });
  }

  /** The link is back: sends queued publications to every other node (this one delivered them already). */
  flush(): void {
    const send = async (p: Publication) => (await this.fanOut(p, this.node)) !== undefined;
    void this.outbox.flush(send, () => this.link.linked());
  }

  /** The link is down: what this node publishes until it is back is a run of offsets of its own. */
  linkDown(): void {
    this.local.restartStreams();
  }

  /** One publish script. Undefined when it could not reach Redis. */
  private async fanOut(p: Publication, skip: string): Promise<StreamPosition | undefined> {
    if (!this.link.linked()) return undefined;
    const { stream } = p;
    // Without a stream target the script touches no stream key (the retention values are unused).
    const history = stream === undefined ? [0, 0, 0, 0, 0, 0] : [1, stream.partition, stream.partitioned ? 1 : 0, stream.retention.maxEvents, stream.retention.maxBytes, stream.retention.maxAgeMs];
    try {
      const args = [this.keys.prefix, p.appId, p.channel, p.frame, p.exceptSocketId ?? '', skip, ...history, STREAM_IDLE_S, this.config.busLogLength];
      const [offset, epoch] = (await this.scripts.bcPublish(...args)) as [number, string];
      return offset === 0 ? UNSEQUENCED : { offset, epoch };
    } catch (error) {
      this.link.failed(error);
      return undefined;
    }
  }
}
