// Startup check of every JWT app's settings (docs/PROTOCOL.md §14): keys, rules file and
// resolver are loaded now, so a bad PEM or an unreachable JWKS URL stops the start with the
// setting named instead of refusing every token later.
import type { App } from '../apps/registry.js';
import { ConfigError } from '../config/env.js';
import { dottedPath } from '../config/issues.js';
import type { Logger } from '../logger.js';
import { appKeys } from './jwt.js';
import { JwtSettingError } from './jwt-keys.js';
import { readRulesFile, setPolicyLog } from './policy.js';
import { loadResolver } from './resolver.js';

/** The operator's name for a config path (an env name, a file entry); `apps[0].jwt.x` without one. */
export type SettingName = (path: (string | number)[]) => string;

export async function checkJwtSettings(apps: readonly App[], log: Pick<Logger, 'warn' | 'error'>, settingName: SettingName = dottedPath): Promise<void> {
  setPolicyLog(log);
  const problems: string[] = [];
  for (const [index, app] of apps.entries()) {
    if (app.authMode === 'hmac') continue;
    const fail = (field: (string | number)[], problem: string) => problems.push(`Invalid setting ${settingName(['apps', index, 'jwt', ...field])}: ${problem}`);
    try {
      await appKeys(app.jwt);
    } catch (error) {
      if (error instanceof JwtSettingError) fail(error.field, error.message);
      else throw error;
    }
    if (app.jwt.rulesFile !== undefined) {
      try {
        readRulesFile(app.jwt.rulesFile);
      } catch (error) {
        fail(['rulesFile'], (error as Error).message);
      }
    }
    if (app.jwt.resolver !== undefined) {
      try {
        await loadResolver(app.jwt.resolver);
      } catch (error) {
        fail(['resolver'], `cannot use ${app.jwt.resolver}: ${(error as Error).message}; expected a JS module exporting authorize(tenant, channel, userId, roles, action)`);
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems.join('\n'));
}
