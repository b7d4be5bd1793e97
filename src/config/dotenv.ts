// The .env file Laravel and Broadcasty share, read the way Laravel reads it (vlucas/phpdotenv):
// `KEY=value`, `export KEY=value`, `#` comments (whole line, or after an unquoted value and a
// space), 'single quotes' taken literally, "double quotes" with \n \" \\ escapes and newlines
// inside, and `${NAME}` interpolated in unquoted and double-quoted values from the real
// environment first, then the lines above. Node's util.parseEnv does no interpolation, and
// `VITE_REVERB_APP_KEY="${REVERB_APP_KEY}"` is in every file `install:broadcasting` writes.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from './env.js';

const NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/;
const INTERPOLATION = /\$\{([A-Za-z_][A-Za-z0-9_.]*)\}/g;
/** In double quotes: an escape (`\$` keeps a literal `${`) or a `${NAME}`, in one pass. */
const ESCAPE_OR_INTERPOLATION = /\\(.)|\$\{([A-Za-z_][A-Za-z0-9_.]*)\}/g;
const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t' };

export function parseDotenv(text: string, env: NodeJS.ProcessEnv = {}, file = '.env'): Record<string, string> {
  const values: Record<string, string> = {};
  const lookup = (name: string) => env[name] ?? values[name] ?? '';
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const name = (eq < 0 ? line : line.slice(0, eq)).replace(/^export\s+/, '').trim();
    if (eq < 0 || !NAME.test(name)) {
      throw new ConfigError(`Invalid .env file ${file} line ${i + 1}: expected NAME=value, got ${JSON.stringify(line.slice(0, 60))}`);
    }
    let rest = line.slice(eq + 1).trimStart();
    const quote = rest[0];
    if (quote === "'" || quote === '"') {
      // A quoted value may span lines; it ends at the first unescaped matching quote.
      let body = rest.slice(1);
      let end = closingQuote(body, quote);
      while (end < 0 && i + 1 < lines.length) {
        body += '\n' + lines[++i];
        end = closingQuote(body, quote);
      }
      if (end < 0) throw new ConfigError(`Invalid .env file ${file}: the ${quote} quote opened for ${name} is never closed`);
      rest = body.slice(0, end);
      values[name] = quote === "'" ? rest : rest.replace(ESCAPE_OR_INTERPOLATION, (_, c: string | undefined, ref: string | undefined) => (ref !== undefined ? lookup(ref) : (ESCAPES[c!] ?? c!)));
      continue;
    }
    const comment = rest.search(/\s#/);
    const raw = (comment < 0 ? rest : rest.slice(0, comment)).trim();
    values[name] = raw.replace(INTERPOLATION, (_, ref: string) => lookup(ref));
  }
  return values;
}

function closingQuote(body: string, quote: string): number {
  for (let i = 0; i < body.length; i++) {
    if (body[i] === '\\' && quote === '"') i++;
    else if (body[i] === quote) return i;
  }
  return -1;
}


export interface LoadedEnv {
  env: NodeJS.ProcessEnv;
  /** The .env file read, absent when none was found. */
  file: string | undefined;
}

/**
 * The environment the settings are read from: the .env file (`envFile`, or `.env` in `cwd` when
 * present) under the real environment, which wins, as it does for Laravel.
 */
export function withDotenv(env: NodeJS.ProcessEnv, options: { envFile?: string; cwd?: string } = {}): LoadedEnv {
  const explicit = options.envFile !== undefined;
  const file = resolve(options.cwd ?? process.cwd(), options.envFile ?? '.env');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (!explicit && (error as NodeJS.ErrnoException).code === 'ENOENT') return { env, file: undefined };
    throw new ConfigError(`Invalid setting --env-file: cannot read ${file} (${(error as Error).message})`);
  }
  return { env: { ...parseDotenv(text, env, file), ...env }, file };
}
