import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, readEnv } from './env.js';
import { dottedPath, gotValue } from './issues.js';
import { serverSchema, type ServerConfig } from './schema.js';

export { ConfigError };

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  configFile?: string;
  /** Command-line overrides (highest precedence). */
  overrides?: Record<string, unknown>;
}

/** Precedence: defaults < config file < environment < command line. */
export function loadConfig(options: LoadOptions = {}): ServerConfig {
  const fromFile = options.configFile === undefined ? {} : readConfigFile(options.configFile);
  const overlay = readEnv(options.env ?? process.env);
  const raw: Record<string, unknown> = { ...fromFile, ...overlay.server, ...(options.overrides ?? {}) };
  if (Object.keys(overlay.app).length > 0) {
    raw.apps = [{ id: 'app-id', key: 'app-key', secret: 'app-secret', ...overlay.app }];
  }
  const parsed = serverSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new ConfigError(describeIssues(parsed.error, raw, overlay.sources, options.configFile));
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`Invalid setting --config: cannot read ${file} (${(error as Error).message})`);
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(`Invalid setting --config: ${file} is not a JSON object (${(error as Error).message})`);
  }
}

function describeIssues(error: z.ZodError, raw: unknown, sources: Map<string, string>, file?: string): string {
  const lines = error.issues.map((issue) => {
    const dotted = dottedPath(issue.path);
    const envName = sources.get(dotted) ?? sources.get(dotted.replace(/^apps\[0\]\./, 'app.'));
    const where = envName ?? (file ? `${dotted} in ${file}` : dotted);
    return `Invalid setting ${where}: got ${gotValue(raw, issue.path)}; ${issue.message}`;
  });
  return lines.join('\n');
}
