// `broadcasty.deliver`: this node's fan-out of one engine publish, as a child of the engine
// publish span it happens inside (tracing.underPublish). Wraps the hub only while tracing is on.
// A delivery with no such parent (one the Redis bus brings, on any node) gets no span: it would
// be a trace of its own per message, linked to nothing.
import type { LocalDelivery } from '../engine/types.js';
import type { Hub } from '../hub/hub.js';
import type { Tracing } from './tracing.js';

export class TracedDelivery implements LocalDelivery {
  constructor(
    private readonly hub: Hub,
    private readonly tracing: Tracing,
  ) {}

  deliver(appId: string, channel: string, frame: string, exceptSocketId?: string): void {
    const parent = this.tracing.deliveryParent;
    if (parent === undefined) {
      this.hub.deliver(appId, channel, frame, exceptSocketId);
      return;
    }
    const span = this.tracing.start('broadcasty.deliver', parent);
    span.set('broadcasty.channel', channel);
    try {
      span.set('broadcasty.subscribers', this.hub.deliver(appId, channel, frame, exceptSocketId));
    } catch (error) {
      span.fail(error);
      throw error;
    } finally {
      span.end();
    }
  }

  terminateUser(appId: string, userId: string): void {
    this.hub.terminateUser(appId, userId);
  }

  userStatusChanged(appId: string, userId: string, online: boolean): void {
    this.hub.userStatusChanged(appId, userId, online);
  }
}
