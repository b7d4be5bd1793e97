// What `redisUrl` may be, parsed without loading ioredis (config validation uses it):
//   redis://[[user]:password@]host[:port][/db]            rediss:// for TLS (ioredis parses these)
//   redis+sentinel://[[user]:password@]host[:port][,host[:port]…]/masterName[/db]
//   redis+cluster://[[user]:password@]host[:port][,host[:port]…]   (seed nodes of a Redis Cluster)
//                                                         rediss+… for TLS
// With Sentinel, ioredis asks the sentinels for the current primary on every (re)connect, so a
// failover needs no DNS name or virtual IP. With Cluster, ioredis discovers the slots from the seeds.
import type { RedisOptions } from 'ioredis';

const SENTINEL_PORT = 26379;
const REDIS_PORT = 6379;
const SENTINEL_URL = /^(rediss?)\+sentinel:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/@]+)\/([^/]+)(?:\/(\d+))?\/?$/;
const CLUSTER_URL = /^(rediss?)\+cluster:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/@]+)\/?$/;

export const REDIS_URL_FORMS = 'redis://, rediss://, redis+sentinel://host:port[,host:port…]/masterName or redis+cluster://host:port[,host:port…]';

interface Credentials {
  username?: string;
  password?: string;
  tls?: object;
}

/** user:password@ and the TLS scheme, as ioredis options. */
function credentials(scheme: string, user: string | undefined, password: string | undefined): Credentials {
  return {
    ...(user ? { username: decodeURIComponent(user) } : {}),
    ...(password ? { password: decodeURIComponent(password) } : {}),
    ...(scheme === 'rediss' ? { tls: {} } : {}),
  };
}

function addresses(list: string, defaultPort: number, kind: string): { host: string; port: number }[] {
  return list.split(',').map((entry) => {
    const [host, port] = entry.split(':');
    const number = port === undefined ? defaultPort : Number(port);
    if (host === '' || !Number.isInteger(number) || number < 1 || number > 65535) throw new Error(`bad ${kind} address "${entry}" (host:port)`);
    return { host, port: number };
  });
}

/** Seed nodes and connection options for a Cluster URL; undefined for any other URL. */
export function clusterOptions(url: string): { nodes: { host: string; port: number }[]; options: Credentials } | undefined {
  if (!/^rediss?\+cluster:/.test(url)) return undefined;
  const match = CLUSTER_URL.exec(url);
  if (match === null) throw new Error(`not a Cluster URL (${REDIS_URL_FORMS})`);
  const [, scheme, user, password, hosts] = match;
  return { nodes: addresses(hosts, REDIS_PORT, 'cluster node'), options: credentials(scheme, user, password) };
}

/** ioredis options for a Sentinel URL; undefined for a plain redis:// or rediss:// URL. */
export function sentinelOptions(url: string): RedisOptions | undefined {
  if (!/^rediss?\+sentinel:/.test(url)) return undefined;
  const match = SENTINEL_URL.exec(url);
  if (match === null) throw new Error(`not a Sentinel URL (${REDIS_URL_FORMS})`);
  const [, scheme, user, password, hosts, name, db] = match;
  return {
    sentinels: addresses(hosts, SENTINEL_PORT, 'sentinel'),
    name: decodeURIComponent(name),
    ...credentials(scheme, user, password),
    ...(db === undefined ? {} : { db: Number(db) }),
    ...(scheme === 'rediss' ? { enableTLSForSentinelMode: true } : {}),
  };
}

/** Whether the URL is one of the accepted forms; the reason when it is not. */
export function redisUrlProblem(url: string): string | undefined {
  if (/^rediss?:\/\//.test(url)) return undefined;
  try {
    return sentinelOptions(url) === undefined && clusterOptions(url) === undefined ? `must start with ${REDIS_URL_FORMS}` : undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
