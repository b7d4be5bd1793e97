// What every `broadcasty <command>` shares: the exit codes, the errors that map to them, the
// option sets, and the runner that parses arguments, prints `--help` and turns errors into codes.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '../config/load.js';

/** 0 ok, 1 the operation failed (refused, not found, problems found), 2 usage, 3 no server to talk to. */
export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

/** Bad or missing arguments: the message and the command's usage, exit 2. */
export class UsageError extends Error {}

/** The operation did not succeed (the server refused, the thing does not exist): exit 1. */
export class FailedError extends Error {}

/** Nothing answered at the server's URL: exit 3. */
export class UnreachableError extends Error {}

type OptionSet = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | string[] | undefined>;

/** Where the settings come from: as `broadcasty start` reads them. */
export const CONFIG_OPTIONS = {
  config: { type: 'string' },
  'env-file': { type: 'string' },
  app: { type: 'string' },
  json: { type: 'boolean' },
} as const satisfies OptionSet;

/** Commands that talk to a running server. */
export const SERVER_OPTIONS = { ...CONFIG_OPTIONS, url: { type: 'string' } } as const satisfies OptionSet;

/** Commands of the admin API: the bearer token defaults to the configured adminToken. */
export const ADMIN_OPTIONS = { ...SERVER_OPTIONS, token: { type: 'string' } } as const satisfies OptionSet;

export const CONFIG_HELP = `  --config FILE      JSON settings file, as for start
  --env-file FILE    the .env to read (default: ./.env when present)
  --app ID           the app (default: the only app, or the env's app)
  --json             machine output (one JSON document)`;
export const SERVER_HELP = `${CONFIG_HELP}
  --url URL          the server's base URL (default: from host, port, pathPrefix and TLS settings)`;
export const ADMIN_HELP = `${SERVER_HELP}
  --token T          admin API token (default: adminToken, BROADCASTY_ADMIN_TOKEN; none on loopback)`;

export interface Command {
  name: string;
  /** One line for `broadcasty --help`. */
  summary: string;
  /** `broadcasty name <args> [options]`, printed on usage errors. */
  usage: string;
  /** The rest of `--help`: what it does, its options, an example. */
  details: string;
  options: OptionSet;
  /** Positional arguments allowed: [min, max]. */
  positionals: readonly [number, number];
  run(values: Values, positionals: string[]): Promise<number>;
}

function helpOf(command: Command): string {
  return `usage: ${command.usage}\n\n${command.summary}\n\n${command.details}\n  -h, --help         this text`;
}

export async function runCommand(command: Command, args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...command.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (error) {
    return usageFailure(command, (error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(helpOf(command));
    return EXIT.ok;
  }
  const [min, max] = command.positionals;
  if (positionals.length < min) return usageFailure(command, `${command.name}: missing argument`);
  if (positionals.length > max) return usageFailure(command, `${command.name}: unexpected argument ${JSON.stringify(positionals[max])}`);
  try {
    return await command.run(values as Values, positionals);
  } catch (error) {
    if (error instanceof UsageError) return usageFailure(command, error.message);
    // A configuration the server would refuse to start with: the same message and exit code as start.
    if (error instanceof ConfigError) {
      console.error(error.message);
      return EXIT.usage;
    }
    if (error instanceof UnreachableError) {
      console.error(error.message);
      return EXIT.unreachable;
    }
    if (error instanceof FailedError) {
      console.error(error.message);
      return EXIT.failed;
    }
    throw error;
  }
}

function usageFailure(command: Command, message: string): number {
  console.error(`${message}\nusage: ${command.usage}\n(broadcasty ${command.name} --help for more)`);
  return EXIT.usage;
}

/** Prints the JSON document under --json, else the human lines. */
export function print(values: Values, json: unknown, human: () => string): void {
  console.log(values.json ? JSON.stringify(json, null, 2) : human());
}
