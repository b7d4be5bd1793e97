// `npm run compat -- --host H --port P --app-id ID --key K --secret S [--tls] [--path-prefix /x]
//   [--only PATTERN] [--json FILE] [--out-dir DIR] [--<option> value …]`
// Every flag also comes from env COMPAT_<UPPER_SNAKE> (flags win). Unknown flags become
// Target.options (kebab → camel: --quota-app-key → quotaAppKey).
import { writeFileSync } from 'node:fs';
import { formatResult, runConformance, summarize } from './runner.js';
import type { Target } from './types.js';

const USAGE = `usage: npm run compat -- --host H --port P --app-id ID --key K --secret S [--tls] [--path-prefix /x]
         [--only 1-13,22|REGEX] [--json FILE] [--out-dir DIR] [--<option> VALUE ...]
options (Target.options): --disabled-app-key, --quota-app-key, --tls-only-app-key,
  --no-client-events-app-key/-secret, --subscription-count-app-key/-secret, --short-timeout-app-key,
  --small-presence-app-key/-secret, --overload-port, --server-pid, --webhook-port, --webhook-app-id/-key/-secret
every flag may also be given as env COMPAT_<UPPER_SNAKE>, e.g. COMPAT_QUOTA_APP_KEY`;

const BASE = ['host', 'port', 'app-id', 'key', 'secret', 'tls', 'path-prefix', 'only', 'json', 'out-dir'];

const camel = (kebab: string) => kebab.replace(/-([a-z0-9])/g, (_, ch: string) => ch.toUpperCase());

/** Flags and COMPAT_* env merged into one kebab-keyed map (flags override env). */
export function collectArgs(argv: string[], env: NodeJS.ProcessEnv): Map<string, string> {
  const values = new Map<string, string>();
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith('COMPAT_') && value !== undefined) values.set(name.slice(7).toLowerCase().replace(/_/g, '-'), value);
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (eq > 0) values.set(name, arg.slice(eq + 1));
    else if (name === 'tls' || name === 'help') values.set(name, 'true');
    else if (i + 1 < argv.length) values.set(name, argv[++i]);
    else throw new Error(`--${name} needs a value`);
  }
  return values;
}

export function targetFrom(values: Map<string, string>): Target {
  const port = Number(values.get('port') ?? 6001);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`--port must be a port number, got ${values.get('port')}`);
  const prefix = values.get('path-prefix') ?? '';
  if (prefix && !/^\/.*[^/]$/.test(prefix)) throw new Error(`--path-prefix must start with "/" and not end with "/", got ${prefix}`);
  const options: Record<string, string> = {};
  for (const [name, value] of values) if (!BASE.includes(name) && name !== 'help') options[camel(name)] = value;
  return {
    host: values.get('host') ?? '127.0.0.1',
    port,
    tls: ['1', 'true', 'yes'].includes((values.get('tls') ?? '').toLowerCase()),
    pathPrefix: prefix,
    appId: values.get('app-id') ?? 'app-id',
    key: values.get('key') ?? 'app-key',
    secret: values.get('secret') ?? 'app-secret',
    options,
  };
}

async function main(): Promise<number> {
  let values: Map<string, string>;
  let target: Target;
  try {
    values = collectArgs(process.argv.slice(2), process.env);
    if (values.has('help')) {
      console.log(USAGE);
      return 0;
    }
    target = targetFrom(values);
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const started = new Date();
  const results = await runConformance(target, { only: values.get('only'), outDir: values.get('out-dir'), log: (line) => console.log(line) });
  const summary = summarize(results);
  console.log(summary);
  const json = values.get('json');
  if (json) {
    const { secret: _secret, ...shown } = target; // never write the secret into a report
    const options = Object.fromEntries(Object.entries(target.options).filter(([k]) => !/secret/i.test(k)));
    const report = { target: { ...shown, options }, startedAt: started.toISOString(), durationMs: Date.now() - started.getTime(), summary, results: results.map((r) => ({ ...r, line: formatResult(r) })) };
    writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  }
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}

// pusher-js and sockets of timed-out cases may keep the loop alive; the run is over, so exit.
main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  },
);
