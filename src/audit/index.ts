// The audit log (docs/PROTOCOL.md §17.4): the writer with the sink audit.sink names, or nothing
// when it is `off`. The SQL drivers and node:fs code load only for the sink in use.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { dirname } from 'node:path';
import { connectSql } from '../apps/sql-clients.js';
import { ConfigError } from '../config/env.js';
import type { ServerConfig } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { AuditWriter, type AuditSink } from './writer.js';

const SINKS: Record<Exclude<ServerConfig['audit']['sink'], 'off'>, (config: ServerConfig, log: Logger) => Promise<AuditSink>> = {
  stdout: async () => new (await import('./stdout-sink.js')).StdoutAuditSink(),
  file: async ({ audit }, log) => {
    const { FileAuditSink } = await import('./file-sink.js');
    await checkWritableDirectory(audit.file!);
    return new FileAuditSink(audit.file!, audit.maxFileBytes, audit.retentionDays, log);
  },
  postgres: (config, log) => sqlSink(config, log),
  mysql: (config, log) => sqlSink(config, log),
};

/** Refuses the start rather than failing every batch: the file is created by the first one. */
async function checkWritableDirectory(file: string): Promise<void> {
  try {
    await access(dirname(file), constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ConfigError(`Invalid setting audit.file: got ${JSON.stringify(file)}; its directory must exist and be writable (${code}) (BROADCASTY_AUDIT_FILE)`);
  }
}

async function sqlSink(config: ServerConfig, log: Logger): Promise<AuditSink> {
  const { SqlAuditSink } = await import('./sql-sink.js');
  const dialect = config.audit.sink === 'postgres' ? 'postgres' : 'mysql';
  return new SqlAuditSink(await connectSql(dialect, config.databaseUrl!, log), config.audit.table, config.audit.retentionDays, log);
}

export async function startAudit(config: ServerConfig, log: Logger): Promise<AuditWriter | undefined> {
  if (config.audit.sink === 'off') return undefined;
  const auditLog = log.child({ component: 'audit' });
  return new AuditWriter(await SINKS[config.audit.sink](config, auditLog), config.audit, auditLog);
}
