// Member and count announcements (docs/PROTOCOL.md §2.7, §2.12): channel state the server reports,
// not events anyone published — so not the publish pipeline: no checks, no stream position, no
// after-publish hooks.
import type { Engine } from '../engine/types.js';

export function announce(broker: Pick<Engine, 'publish'>, appId: string, channel: string, frame: string, exceptSocketId?: string): Promise<unknown> {
  return broker.publish({ appId, channel, frame, exceptSocketId });
}
