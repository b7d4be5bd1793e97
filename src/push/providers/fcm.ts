// PLACEHOLDER until the issue-16 provider helper lands it (docs/PROTOCOL.md §16.3).
import type { PushConfig } from '../../config/schema.js';
import type { PushProvider } from '../types.js';

export function createFcmProvider(push: PushConfig): PushProvider {
  throw new Error(`not yet: fcm for ${Object.keys(push).join(',')}`);
}
