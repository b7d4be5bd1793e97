// Key naming shared by everything Broadcasty keeps in Redis (the engine and the webhook queue).

/**
 * The key prefix of a deployment: its `redisPrefix` as a Redis Cluster hash tag, so every key of
 * a deployment lives in one slot and each Lua script and pipeline touches one node (standalone
 * Redis ignores the braces).
 */
export function taggedPrefix(redisPrefix: string): string {
  return `{${redisPrefix}}`;
}
