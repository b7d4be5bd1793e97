// `broadcasty doctor`: checks the settings, Redis, the database, the port and a real round trip,
// and says what is wrong and how to fix it. Exit 1 when any check fails.
import { ConfigError, type Setup } from '../config/load.js';
import type { App } from '../apps/registry.js';
import { EXIT, SERVER_HELP, SERVER_OPTIONS, UsageError, type Command, type Values } from './command.js';
import { checkDatabase, checkPort, checkRedis, type CheckResult } from './doctor-checks.js';
import { checkEndToEnd } from './doctor-e2e.js';
import { loadSettings, resolveApp, serverUrl } from './target.js';

const skip = (name: string, detail: string): CheckResult => ({ name, status: 'skip', detail });

async function runChecks(values: Values): Promise<CheckResult[]> {
  let setup: Setup;
  try {
    setup = loadSettings(values);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const fix = 'correct the setting named above (broadcasty --help lists every setting)';
    return [{ name: 'config', status: 'FAIL', detail: error.message, fix }, ...['app', 'redis', 'database', 'server', 'end-to-end'].map((name) => skip(name, 'the settings do not load'))];
  }
  const { config } = setup;
  const results: CheckResult[] = [
    { name: 'config', status: 'ok', detail: `loaded: ${config.redisUrl === undefined ? 'in-memory engine' : 'Redis engine'}, listening on ${config.host}:${config.port}${config.pathPrefix}, app registry ${config.appRegistry}` },
  ];
  let app: App | undefined;
  try {
    app = await resolveApp(values, setup);
    results.push({ name: 'app', status: 'ok', detail: `${app.id} (key ${app.key})` });
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    results.push({ name: 'app', status: 'FAIL', detail: error.message, fix: 'pass --app ID, or configure the app (BROADCASTY_APP_ID, BROADCASTY_APP_KEY, BROADCASTY_APP_SECRET)' });
  }
  results.push(await checkRedis(setup), await checkDatabase(setup));
  const baseUrl = serverUrl(values, config);
  const port = await checkPort(setup, baseUrl, values.url !== undefined);
  const { serving, ...server } = port;
  results.push(server);
  if (!serving) results.push(skip('end-to-end', 'no server to talk to: broadcasty start, then run doctor again'));
  else if (app === undefined) results.push(skip('end-to-end', 'no app to connect with'));
  else {
    const index = config.apps.findIndex((configured) => configured.id === app.id);
    const secretSetting = index < 0 ? `the secret of app ${app.id} in the ${config.appRegistry} registry` : setup.settingName(['apps', index, 'secret']);
    results.push(await checkEndToEnd(baseUrl, app, secretSetting));
  }
  return results;
}

function reportText(results: CheckResult[]): string {
  const width = Math.max(...results.map((result) => result.name.length));
  return results
    .map((result) => {
      const head = `${result.status.padEnd(4)}  ${result.name.padEnd(width)}  `;
      const detail = result.detail.split('\n').join(`\n${''.padEnd(head.length)}`);
      return `${head}${detail}${result.fix === undefined ? '' : `\n${''.padEnd(head.length)}fix: ${result.fix}`}`;
    })
    .join('\n');
}

export const doctor: Command = {
  name: 'doctor',
  summary: 'check the settings, Redis, the database, the port, and a pusher-js round trip; say what to fix',
  usage: 'broadcasty doctor [options]',
  details: `Each check prints ok, FAIL (with how to fix it) or skip; exit 1 when any check fails.
The round trip: a pusher-js client connects with the app's key, subscribes a fresh public channel,
an event is triggered through the HTTP API with the configured secret and must arrive within 5 s.
Example: broadcasty doctor --env-file .env

Options:
${SERVER_HELP}`,
  options: SERVER_OPTIONS,
  positionals: [0, 0],
  async run(values) {
    const results = await runChecks(values);
    const failed = results.some((result) => result.status === 'FAIL');
    console.log(values.json ? JSON.stringify({ ok: !failed, checks: results }, null, 2) : reportText(results));
    return failed ? EXIT.failed : EXIT.ok;
  },
};
