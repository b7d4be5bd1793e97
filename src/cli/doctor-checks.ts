// The checks of `broadcasty doctor` that need no running server: Redis, the database, the port.
// Each answers a CheckResult: what was found and, when it is wrong, how to fix it.
import { createServer } from 'node:net';
import type { Setup } from '../config/load.js';
import { connectSql } from '../apps/sql-clients.js';
import type { Dialect } from '../apps/sql-table.js';
import { connectRedis } from '../redis/connect.js';
import { withoutPassword } from '../welcome.js';
import { send } from './http.js';

export interface CheckResult {
  name: string;
  status: 'ok' | 'FAIL' | 'skip';
  detail: string;
  fix?: string;
}

const PROBE_TIMEOUT_MS = 3000;

const reason = (error: unknown): string => (error as NodeJS.ErrnoException).code ?? (error as Error).message;

export async function checkRedis({ config, settingName }: Setup): Promise<CheckResult> {
  if (config.redisUrl === undefined) return { name: 'redis', status: 'skip', detail: 'not used: redisUrl is not set (the in-memory engine, one process)' };
  const shown = withoutPassword(config.redisUrl);
  const client = connectRedis(config.redisUrl, { lazyConnect: true, connectTimeout: PROBE_TIMEOUT_MS, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  // The 'error' event names the cause (ECONNREFUSED, WRONGPASS…); the rejected call only says "closed".
  let cause: unknown;
  client.on('error', (error) => (cause ??= error));
  try {
    await client.connect();
    await client.ping();
    return { name: 'redis', status: 'ok', detail: `${shown} answers PING` };
  } catch (error) {
    return {
      name: 'redis',
      status: 'FAIL',
      detail: `Redis at ${shown} does not answer (${reason(cause ?? error)})`,
      fix: `start Redis there, or set ${settingName(['redisUrl'])} to where it runs`,
    };
  } finally {
    client.disconnect();
  }
}

/** The settings that keep something in SQL, and the dialect each uses. */
function sqlUsers({ config }: Setup): { setting: string; dialect: Dialect }[] {
  const dialectOf = (value: string): Dialect | undefined => (value === 'postgres' || value === 'mysql' ? value : undefined);
  return [
    { setting: 'appRegistry', dialect: dialectOf(config.appRegistry) },
    { setting: 'pushDevices', dialect: dialectOf(config.pushDevices) },
    { setting: 'audit.sink', dialect: dialectOf(config.audit.sink) },
  ].filter((use): use is { setting: string; dialect: Dialect } => use.dialect !== undefined);
}

export async function checkDatabase(setup: Setup): Promise<CheckResult> {
  const uses = sqlUsers(setup);
  const url = setup.config.databaseUrl;
  if (uses.length === 0 || url === undefined) return { name: 'database', status: 'skip', detail: 'not used: no appRegistry, pushDevices or audit.sink in postgres/mysql' };
  const shown = withoutPassword(url);
  const dialects = [...new Set(uses.map((use) => use.dialect))];
  const failures: string[] = [];
  for (const dialect of dialects) {
    let client;
    try {
      client = await connectSql(dialect, url);
      await client.query('SELECT 1', []);
    } catch (error) {
      failures.push(`${dialect} at ${shown}: ${(error as Error).message || reason(error)}`);
    } finally {
      await client?.end().catch(() => {});
    }
  }
  const usedBy = uses.map((use) => `${use.setting} ${use.dialect}`).join(', ');
  if (failures.length === 0) return { name: 'database', status: 'ok', detail: `${shown} answers SELECT 1 (${usedBy})` };
  return { name: 'database', status: 'FAIL', detail: failures.join('; '), fix: `start the database, or set ${setup.settingName(['databaseUrl'])} (used by ${usedBy})` };
}

function portFree(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error) => resolve(error as NodeJS.ErrnoException));
    server.listen({ host, port }, () => server.close(() => resolve(undefined)));
  });
}

/**
 * Whether a Broadcasty answers GET /up at the URL; if nothing does (and the URL is the settings'
 * own), whether `broadcasty start` could bind the port. `serving` says whether to go on end to end.
 */
export async function checkPort(setup: Setup, baseUrl: string, urlGiven: boolean): Promise<CheckResult & { serving: boolean }> {
  const { config, settingName } = setup;
  let answer: { status: number; body: string } | undefined;
  try {
    const response = await send(`${baseUrl}/up`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    answer = { status: response.status, body: await response.text() };
  } catch {
    // Nothing answers: looked at below.
  }
  if (answer !== undefined) {
    if (answer.status === 200 && answer.body.includes('"health"')) return { name: 'server', status: 'ok', detail: `a Broadcasty server answers at ${baseUrl}`, serving: true };
    return {
      name: 'server',
      status: 'FAIL',
      detail: `something that is not Broadcasty answers at ${baseUrl}: GET /up → ${answer.status} ${answer.body.trim().slice(0, 200)}`,
      fix: urlGiven ? 'check --url' : `another program holds the port: stop it, or set ${settingName(['port'])} and ${settingName(['pathPrefix'])}`,
      serving: false,
    };
  }
  if (urlGiven) return { name: 'server', status: 'FAIL', detail: `nothing answers at ${baseUrl}`, fix: 'start broadcasty there, or check --url', serving: false };
  const problem = await portFree(config.host, config.port);
  if (problem === undefined) {
    return { name: 'server', status: 'ok', detail: `no server running at ${baseUrl}; ${config.host}:${config.port} is free, so broadcasty start can listen there`, serving: false };
  }
  return {
    name: 'server',
    status: 'FAIL',
    detail: `no Broadcasty answers at ${baseUrl}, and ${config.host}:${config.port} cannot be bound (${problem.code ?? problem.message})`,
    fix: problem.code === 'EADDRINUSE' ? `another program holds the port: stop it, or set ${settingName(['port'])}` : `set ${settingName(['host'])} and ${settingName(['port'])} to an address this machine may bind`,
    serving: false,
  };
}
