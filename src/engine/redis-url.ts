// What `redisUrl` may be, parsed without loading ioredis (config validation uses it):
//   redis://[[user]:password@]host[:port][/db]            rediss:// for TLS (ioredis parses these)
//   redis+sentinel://[[user]:password@]host[:port][,host[:port]…]/masterName[/db]
//                                                         rediss+sentinel:// for TLS
// With Sentinel, ioredis asks the sentinels for the current primary on every (re)connect, so a
// failover needs no DNS name or virtual IP.
import type { RedisOptions } from 'ioredis';

const SENTINEL_PORT = 26379;
const SENTINEL_URL = /^(rediss?)\+sentinel:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/@]+)\/([^/]+)(?:\/(\d+))?\/?$/;

export const REDIS_URL_FORMS = 'redis://, rediss:// or redis+sentinel://host:port[,host:port…]/masterName';

/** ioredis options for a Sentinel URL; undefined for a plain redis:// or rediss:// URL. */
export function sentinelOptions(url: string): RedisOptions | undefined {
  if (!/^rediss?\+sentinel:/.test(url)) return undefined;
  const match = SENTINEL_URL.exec(url);
  if (match === null) throw new Error(`not a Sentinel URL (${REDIS_URL_FORMS})`);
  const [, scheme, user, password, hosts, name, db] = match;
  const sentinels = hosts.split(',').map((entry) => {
    const [host, port] = entry.split(':');
    const number = port === undefined ? SENTINEL_PORT : Number(port);
    if (host === '' || !Number.isInteger(number) || number < 1 || number > 65535) throw new Error(`bad sentinel address "${entry}" (host:port)`);
    return { host, port: number };
  });
  return {
    sentinels,
    name: decodeURIComponent(name),
    ...(user ? { username: decodeURIComponent(user) } : {}),
    ...(password ? { password: decodeURIComponent(password) } : {}),
    ...(db === undefined ? {} : { db: Number(db) }),
    ...(scheme === 'rediss' ? { tls: {}, enableTLSForSentinelMode: true } : {}),
  };
}

/** Whether the URL is one of the accepted forms; the reason when it is not. */
export function redisUrlProblem(url: string): string | undefined {
  if (/^rediss?:\/\//.test(url)) return undefined;
  try {
    return sentinelOptions(url) === undefined ? `must start with ${REDIS_URL_FORMS}` : undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
