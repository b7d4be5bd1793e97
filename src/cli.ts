#!/usr/bin/env node
// `broadcasty start [--config FILE] [--port N] [--host H] [--workers N]`; `broadcasty migrate` creates the SQL apps table.
import { parseArgs } from 'node:util';
import { runPrimary, shouldFork, workerStarted } from './cluster.js';
import { migrate } from './apps/migrate.js';
import { ConfigError, loadConfig } from './config/load.js';
import { createLogger } from './logger.js';
import { startServer } from './server.js';
import type { ServerConfig } from './config/schema.js';

const DEV_SECRET = 'app-secret';
const USAGE = 'usage: broadcasty start [--config FILE] [--port N] [--host HOST] [--path-prefix /PATH] [--workers N]\n       broadcasty migrate [--config FILE]';

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        'path-prefix': { type: 'string' },
        workers: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const command = positionals[0] ?? 'start';
  if (values.help || (command !== 'start' && command !== 'migrate')) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  const overrides: Record<string, unknown> = {};
  if (values.port !== undefined) {
    if (!/^\d+$/.test(values.port)) {
      console.error(`Invalid setting --port: got ${JSON.stringify(values.port)}; expected an integer from 0 to 65535`);
      return 2;
    }
    overrides.port = Number(values.port);
  }
  if (values.workers !== undefined) {
    if (!/^\d+$/.test(values.workers)) {
      console.error(`Invalid setting --workers: got ${JSON.stringify(values.workers)}; expected an integer from 1 to 64`);
      return 2;
    }
    overrides.workers = Number(values.workers);
  }
  if (values.host !== undefined) overrides.host = values.host;
  if (values['path-prefix'] !== undefined) overrides.pathPrefix = values['path-prefix'];

  let config: ServerConfig;
  try {
    config = loadConfig({ configFile: values.config, overrides });
    if (command === 'migrate') {
      console.log(await migrate(config));
      return 0;
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
  const log = createLogger(config.logLevel);
  if (shouldFork(config)) return runPrimary(config, log, (port) => printWelcome(config, port));
  let server;
  try {
    server = await startServer(config, { log });
  } catch (error) {
    // An apps file or table with a bad row is a configuration error too: same exit code.
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
  if (!workerStarted(server.port)) printWelcome(config, server.port);

  const stop = async (signal: string) => {
    log.info({ signal }, 'draining: closing every socket with 4200');
    await server.shutdown();
    setTimeout(() => process.exit(0), config.shutdownGraceMs).unref();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  return -1;
}

function printWelcome(config: ServerConfig, port: number): void {
  const shownHost = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  const scheme = config.tlsCert ? 'https' : 'http';
  // With a file or SQL registry the apps live there; the dev app shown is only an example then.
  const app = config.apps[0];
  const lines = [
    `Broadcasty listening on ${scheme}://${shownHost}:${port}${config.pathPrefix}`,
    '',
    config.appRegistry === 'static' ? `Laravel .env (app "${app.id}"):` : `Laravel .env (apps come from the ${config.appRegistry} registry; fill in one of them):`,
    'BROADCAST_CONNECTION=pusher',
    `PUSHER_APP_ID=${app.id}`,
    `PUSHER_APP_KEY=${app.key}`,
    // Only the built-in dev secret is printed; a real one never reaches stdout or logs.
    `PUSHER_APP_SECRET=${app.secret === DEV_SECRET ? DEV_SECRET : '<the secret from your config>'}`,
    `PUSHER_HOST=${shownHost}`,
    `PUSHER_PORT=${port}`,
    `PUSHER_SCHEME=${scheme}`,
    'PUSHER_APP_CLUSTER=mt1',
    '',
    'Echo options:',
    `  { broadcaster: 'pusher', key: '${app.key}', cluster: 'mt1', wsHost: '${shownHost}', wsPort: ${port}, wssPort: ${port},` +
      ` forceTLS: ${scheme === 'https'}, enabledTransports: ['ws', 'wss']${config.pathPrefix ? `, wsPath: '${config.pathPrefix}'` : ''} }`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    console.error(`broadcasty: ${(error as Error).message}`);
    process.exit(1);
  },
);
