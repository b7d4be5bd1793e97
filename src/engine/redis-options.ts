// How the Redis engine's two connections (redis-engine.ts) behave when Redis fails: fail fast and
// let the engine answer from this node's state, never queue or replay commands.
import type { RedisOptions } from 'ioredis';

/** A Redis that stops answering (a partition without a TCP reset) is treated as down after this. */
export const COMMAND_TIMEOUT_MS = 2000;

export const CONNECTION_OPTIONS: RedisOptions = {
  lazyConnect: true,
  // While disconnected a command fails at once and the engine answers from local state instead of
  // queueing without bound. A command in flight when the link drops is rejected right away
  // (maxRetriesPerRequest 0), not replayed: without that, ioredis 5 leaves it pending forever,
  // and with auto-pipelining every later command waits behind it.
  enableOfflineQueue: false,
  autoResendUnfulfilledCommands: false,
  maxRetriesPerRequest: 0,
  commandTimeout: COMMAND_TIMEOUT_MS,
  // A frozen Redis never answers the FIN of a disconnect: without this the socket (and health)
  // would wait 2 s more before it counts as closed.
  disconnectTimeout: 50,
  retryStrategy: (attempt: number) => Math.min(50 * 2 ** attempt, 2000),
  // After a failover behind a DNS name or virtual IP the old connection may reach a replica.
  reconnectOnError: (error: Error) => error.message.startsWith('READONLY'),
};
