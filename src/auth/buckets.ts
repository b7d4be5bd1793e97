// The names of the jwt.rateLimits windows (docs/PROTOCOL.md §14.6), one per limit, counted by the
// engine's countHit: the HTTP guard and JWT client events (publish/client-events.ts) count a
// principal in the same perUser window, so its name is built here only.
import type { Principal } from './types.js';

/** The principal within its app: `sub` is unique within a tenant only, and a tid holds no `:`. */
export const principalId = (principal: Principal): string => `${principal.tenant}:${principal.userId}`;

export const userBucket = (principal: Principal): string => `user:${principalId(principal)}`;

export const ipBucket = (address: string): string => `ip:${address}`;

export const channelBucket = (channel: string): string => `channel:${channel}`;
