// The Broadcasty client SDK (docs/CLIENT.md): browser-safe, no `node:*` import reachable from here.
export { BroadcastyClient, type ClientStats } from './client.js';
export { offlineStore } from './stores/index.js';
export * from './types.js';
