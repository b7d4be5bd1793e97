// The Broadcasty client SDK (README "Client SDK"): browser-safe, no `node:*` import reachable from here.
export { BroadcastyClient, type ClientStats } from './client.js';
export { offlineStore } from './stores/index.js';
export * from './types.js';
