// `broadcasty --help`: commands, options and every environment name, generated from ENV_TABLE so
// the list cannot drift from what is read.
import { ENV_TABLE } from './env.js';
import { FOREIGN_SETTINGS, REDIS_OPT_IN, SHAPE_LISTEN } from './laravel.js';

export const USAGE = `usage: broadcasty [start] [--config FILE] [--env-file FILE] [--port N] [--host HOST] [--path-prefix /PATH] [--workers N] [--debug]
       broadcasty migrate [--config FILE] [--env-file FILE]
       broadcasty <command> [arguments] [options]    (broadcasty <command> --help: its usage)
       broadcasty --help | --version`;

/** `commands`: one line per client command (src/cli/commands.ts), listed after start and migrate. */
export function helpText(commands: readonly string[] = []): string {
  const width = 58;
  const envLines = ENV_TABLE.map((setting) => {
    const names = setting.names.join(', ');
    const what = `${setting.path.replace(/^app\./, 'env app: ').replace(/\.(\d+)\./g, '[$1].')} (${setting.kind === 'list' ? 'comma-separated' : setting.kind})${setting.help ? ` — ${setting.help}` : ''}`;
    return names.length < width ? `  ${names.padEnd(width)} ${what}` : `  ${names}\n  ${''.padEnd(width)} ${what}`;
  });
  return [
    USAGE,
    '',
    'Commands:',
    '  start      serve (the default)',
    '  migrate    create the SQL tables: the apps table (appRegistry postgres/mysql) and the push',
    '             devices table (pushDevices postgres/mysql); safe to rerun',
    ...commands,
    '',
    'Options:',
    '  --config FILE       JSON settings file (keys as in src/config/schema.ts)',
    '  --env-file FILE     the .env to read (default: ./.env when present); real env variables win',
    '  --port N, --host H, --path-prefix /P, --workers N   override the settings of the same name',
    '  --debug             one log line per connect, close, subscribe, signin, client event, publish, webhook',
    '  -h, --help          this text;  -v, --version  the version',
    '',
    'Precedence: defaults < --config file < .env < environment < command line.',
    `Listening: a Reverb-shaped .env (REVERB_APP_KEY, or BROADCAST_CONNECTION=reverb) listens on REVERB_SERVER_HOST:REVERB_SERVER_PORT`,
    `(default ${SHAPE_LISTEN.reverb.host}:${SHAPE_LISTEN.reverb.port}, as reverb:start); otherwise on ${SHAPE_LISTEN.pusher.host}:${SHAPE_LISTEN.pusher.port}. REVERB_HOST/PORT and PUSHER_HOST/PORT are where clients connect and are never bound.`,
    '',
    'Environment (first name set wins):',
    ...envLines,
    `  ${REDIS_OPT_IN.padEnd(width)} 1 = Redis engine on REDIS_URL, or REDIS_HOST/REDIS_PORT/REDIS_PASSWORD (REDIS_URL alone is ignored)`,
    '',
    `Not read (a warning at start names what to use instead): ${FOREIGN_SETTINGS.length} soketi/Reverb settings such as ${FOREIGN_SETTINGS.slice(0, 3)
      .map((s) => s.name)
      .join(', ')}.`,
  ].join('\n');
}
