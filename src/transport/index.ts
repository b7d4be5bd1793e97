// Picks the transport: native uWebSockets.js when a build loads on this host, else Node http + ws.
// BROADCASTY_TRANSPORT (setting `transport`) forces one: `uws` fails at start when no build loads.
import type { Logger } from '../logger.js';
import { loadNativeUws } from './load-uws.js';
import { createNodeTransport } from './node.js';
import type { Transport, TransportOptions } from './types.js';
import { createUwsTransport } from './uws.js';

export type TransportChoice = 'auto' | 'uws' | 'node';

export function createTransport<Owner>(choice: TransportChoice, options: TransportOptions<Owner>, log: Logger): Transport {
  if (choice === 'node') {
    log.info('transport: Node http + ws (forced by transport "node")');
    return createNodeTransport(options);
  }
  const native = loadNativeUws();
  if ('uws' in native) {
    log.info(`transport: ${native.build} (native)`);
    return createUwsTransport(native.uws, options);
  }
  if (choice === 'uws') throw new Error(`transport "uws": no native uWebSockets.js build loads on this host (${native.failure})`);
  log.warn(`transport: Node http + ws (uWebSockets.js unavailable: ${native.failure})`);
  return createNodeTransport(options);
}
