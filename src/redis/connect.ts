// The one place that opens Redis connections from `redisUrl` (plain, Sentinel or Cluster), for the
// engine and the webhook queue alike.
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { clusterOptions, sentinelOptions } from './url.js';

export function connectRedis(url: string, options: RedisOptions): Redis {
  const cluster = clusterOptions(url);
  if (cluster !== undefined) return clusterClient(cluster.nodes, options, cluster.options);
  const sentinel = sentinelOptions(url);
  return sentinel === undefined ? new Redis(url, options) : new Redis({ ...options, ...sentinel });
}

/**
 * A Cluster client with the same behaviour as the single-node options ask for. It is used through
 * the Redis type: the engine calls only what both have (commands, scripts, pub/sub, status events),
 * and every key of a deployment shares one hash slot (redis-keys.ts), so no command spans slots.
 */
function clusterClient(nodes: { host: string; port: number }[], options: RedisOptions, credentials: object): Redis {
  const { retryStrategy, enableOfflineQueue, enableAutoPipelining, lazyConnect, ...perNode } = options;
  const cluster = new Cluster(nodes, {
    lazyConnect,
    enableOfflineQueue,
    enableAutoPipelining,
    clusterRetryStrategy: retryStrategy ? (times: number) => retryStrategy(times) : undefined,
    redisOptions: { ...perNode, ...credentials },
  });
  return cluster as unknown as Redis;
}
