// pg and mysql2 pools behind the small SqlClient interface, so the registry, the table code and
// the migration are written once for both databases. Each driver is loaded only when used: the
// two cost ~20 MB of memory in every process that does not need them.
import type { Logger } from '../logger.js';
import type { Dialect, SqlClient } from './sql-table.js';

/** A first lookup waits at most this long, then the socket is refused with 4100 (pusher-js retries). */
const TIMEOUT_MS = 5000;
/** Lookups are rare (cached), so a few connections serve any load. */
const POOL_SIZE = 4;

export function connectSql(dialect: Dialect, url: string, log?: Logger): Promise<SqlClient> {
  return dialect === 'postgres' ? postgresClient(url, log) : mysqlClient(url);
}

async function postgresClient(url: string, log?: Logger): Promise<SqlClient> {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({
    connectionString: url,
    max: POOL_SIZE,
    connectionTimeoutMillis: TIMEOUT_MS,
    query_timeout: TIMEOUT_MS,
    // Idle connections must not keep `broadcasty migrate` (or a test) alive.
    allowExitOnIdle: true,
  });
  // An idle client dropped by a database restart emits here; without a listener the process dies.
  pool.on('error', (error) => log?.warn({ err: error }, 'app registry: idle PostgreSQL connection lost'));
  return {
    dialect: 'postgres',
    async query(sql, params) {
      return (await pool.query(sql, params)).rows as Record<string, unknown>[];
    },
    end: () => pool.end(),
  };
}

async function mysqlClient(url: string): Promise<SqlClient> {
  const { default: mysql } = await import('mysql2/promise');
  // mysql2 only knows mysql://; MariaDB users naturally write mariadb://.
  const pool = mysql.createPool({ uri: url.replace(/^mariadb:/, 'mysql:'), connectionLimit: POOL_SIZE, connectTimeout: TIMEOUT_MS });
  return {
    dialect: 'mysql',
    async query(sql, params) {
      const [rows] = await pool.query({ sql, values: params, timeout: TIMEOUT_MS });
      // DDL answers with a result header rather than rows.
      return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
    },
    end: () => pool.end(),
  };
}
