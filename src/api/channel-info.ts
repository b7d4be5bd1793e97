// Channel attributes for `info` on triggers and channel queries (docs/PROTOCOL.md §5.3, §5.5).
import { channelType } from '../../protocol/index.js';
import type { Engine } from '../engine/types.js';

export async function channelAttributes(engine: Engine, appId: string, channel: string, info: string[]): Promise<Record<string, number>> {
  const attributes: Record<string, number> = {};
  const presence = channelType(channel).kind === 'presence';
  if (info.includes('user_count') && presence) attributes.user_count = (await engine.members(appId, channel)).size;
  if (info.includes('subscription_count') && !presence) attributes.subscription_count = await engine.subscriptionCount(appId, channel);
  return attributes;
}
