#!/usr/bin/env node
// `broadcasty [start] [options]` serves; `broadcasty migrate` creates the SQL apps table and the
// push devices table (whichever of appRegistry and pushDevices is postgres/mysql); the client
// commands (trigger, channels, stats, monitor, keygen, token, doctor, …) live in src/cli/;
// `--help` lists them and every setting, `--version` prints the version.
import { parseArgs } from 'node:util';
import { runCommand } from './cli/command.js';
import { COMMANDS, commandSummaries } from './cli/commands.js';
import { migrate } from './migrate.js';
import { inWorker, runPrimary, shouldFork, workerStarted } from './cluster.js';
import { withDotenv } from './config/dotenv.js';
import { helpText, USAGE } from './config/help.js';
import { ConfigError, loadSetup, type Setup } from './config/load.js';
import { DebugObserver } from './debug-observer.js';
import { createLogger, type Logger } from './logger.js';
import { startServer, type RunningServer } from './server.js';
import { packageVersion as version } from './version.js';
import { welcomeText } from './welcome.js';

const integerOption = (name: string, value: string, allowed: string): number => {
  if (!/^\d+$/.test(value)) throw new ConfigError(`Invalid setting --${name}: got ${JSON.stringify(value)}; expected ${allowed}`);
  return Number(value);
};

async function main(argv: string[]): Promise<number> {
  const clientCommand = COMMANDS.get(argv[0] ?? '');
  if (clientCommand !== undefined) return runCommand(clientCommand, argv.slice(1));
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        'env-file': { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        'path-prefix': { type: 'string' },
        workers: { type: 'string' },
        debug: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(helpText(commandSummaries()));
    return 0;
  }
  if (values.version) {
    console.log(version());
    return 0;
  }
  const command = positionals[0] ?? 'start';
  const misplaced = COMMANDS.get(command);
  if (misplaced !== undefined) {
    // Options before the command belong to start and migrate: `broadcasty --debug keygen`.
    console.error(`${command} takes only its own options, after it: ${misplaced.usage}\n${USAGE}`);
    return 2;
  }
  if (command !== 'start' && command !== 'migrate') {
    console.error(`Unknown command ${JSON.stringify(command)}\n${USAGE}`);
    return 2;
  }

  let setup: Setup;
  let envFile: string | undefined;
  try {
    const overrides: Record<string, unknown> = {};
    if (values.port !== undefined) overrides.port = integerOption('port', values.port, 'an integer from 0 to 65535');
    if (values.workers !== undefined) overrides.workers = integerOption('workers', values.workers, 'an integer from 1 to 64');
    if (values.host !== undefined) overrides.host = values.host;
    if (values['path-prefix'] !== undefined) overrides.pathPrefix = values['path-prefix'];
    if (values.debug) overrides.debug = true;
    const loaded = withDotenv(process.env, { envFile: values['env-file'] });
    envFile = loaded.file;
    setup = loadSetup({ env: loaded.env, configFile: values.config, overrides });
    if (command === 'migrate') {
      console.log(await migrate(setup.config));
      return 0;
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
  const { config } = setup;
  const log = createLogger(config.logLevel);
  // Workers load the same settings; only the primary (or the single process) says so.
  if (!inWorker()) for (const notice of setup.notices) log[notice.level](notice.message);
  const welcome = (port: number, metricsPort?: number) =>
    process.stdout.write(welcomeText({ config, port, shape: setup.shape, envFile, envAppId: setup.envAppId, metricsPort }));
  if (shouldFork(config)) {
    const code = await runPrimary(config, log, (port) => welcome(port));
    log.info('stopped');
    return code;
  }
  let server: RunningServer;
  try {
    server = await startServer(config, { log, settingName: setup.settingName, observers: config.logLevel === 'debug' || config.logLevel === 'trace' ? [new DebugObserver(log)] : [] });
  } catch (error) {
    // An apps file or table with a bad row is a configuration error too: same exit code.
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
  if (!workerStarted(server.port)) welcome(server.port, server.metricsPort);
  process.once('SIGTERM', () => void stop(server, log, 'SIGTERM'));
  process.once('SIGINT', () => void stop(server, log, 'SIGINT'));
  return -1;
}

/**
 * The drain: /ready flips to 503 at once, sockets close with 4200 over the grace period, then
 * webhooks, engine and registry stop. Whatever still hangs when the grace is over is cut short.
 */
async function stop(server: RunningServer, log: Logger, signal: string): Promise<void> {
  const graceMs = server.ctx.config.shutdownGraceMs;
  log.info({ signal, graceMs, sockets: server.ctx.hub.connections.size }, 'draining: /ready answers 503, sockets close with 4200');
  const cutShort = setTimeout(() => {
    log.warn({ graceMs }, 'stopped: the grace period ended before the drain finished');
    process.exit(0);
  }, graceMs);
  await server.shutdown();
  clearTimeout(cutShort);
  log.info('stopped');
  process.exit(0);
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
