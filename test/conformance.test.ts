// The black-box conformance suite (compat/conformance) against the real CLI, one node:test subtest
// per docs/PROTOCOL.md §10 item. Three servers: the main one with every special app the cases name in
// Target.options, one with a path prefix (items 4 and 84), and one that holds a single socket so
// overload refusal (item 19) is observable. Item 18 SIGTERMs the main server, so it runs last.
// BROADCASTY_TRANSPORT (auto|uws|node) picks the servers' transport; conformance-node-transport
// runs this file again with `node`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { runConformance, type CaseResult } from '../compat/conformance/runner.js';
import type { Target } from '../compat/conformance/types.js';
import { freePort, runCli, untilListening, type CliProcess } from './support/cli-process.js';

const HOST = '127.0.0.1';
const MAIN = { id: 'conf-app', key: 'conf-key', secret: 'conf-secret', clientEvents: true, clientEventRateLimit: 10 };

/** Special apps: [Target.options key prefix, app settings]. Key option = `${name}AppKey`, etc. */
const SPECIAL: [string, Record<string, unknown>][] = [
  ['disabled', { enabled: false }],
  ['quota', { maxConnections: 1 }],
  ['tlsOnly', { tlsOnly: true }],
  ['noClientEvents', { clientEvents: false }],
  ['subscriptionCount', { subscriptionCount: true }],
  ['shortTimeout', { activityTimeout: 1, pongTimeout: 2 }],
  ['smallPresence', { maxPresenceMembers: 2 }],
];

const TRANSPORT = process.env.BROADCASTY_TRANSPORT ?? 'auto';
const tmp = mkdtempSync(join(tmpdir(), 'broadcasty-conformance-'));
const servers: CliProcess[] = [];
let main: Target;
let prefixed: Target;

async function startServer(name: string, config: Record<string, unknown>): Promise<{ port: number; cli: CliProcess }> {
  const port = await freePort();
  const file = join(tmp, `${name}.json`);
  writeFileSync(file, JSON.stringify({ logLevel: 'warn', ...config }));
  const cli = runCli(['start', '--config', file, '--port', String(port), '--host', HOST], { BROADCASTY_TRANSPORT: TRANSPORT });
  servers.push(cli);
  await untilListening(cli);
  return { port, cli };
}

/** One subtest per case, named after its checklist item. */
async function report(t: TestContext, results: CaseResult[]): Promise<void> {
  for (const r of results) {
    await t.test(`§10.${r.id} ${r.title}`, (st) => {
      if (r.status === 'skip') st.skip(r.reason);
      else if (r.status === 'fail') throw new Error(r.reason);
    });
  }
}

before(async () => {
  const webhookPort = await freePort();
  const options: Record<string, string> = {
    webhookPort: String(webhookPort),
    webhookAppId: 'webhook-app',
    webhookAppKey: 'webhook-key',
    webhookAppSecret: 'webhook-secret',
  };
  const apps: Record<string, unknown>[] = [MAIN];
  for (const [name, settings] of SPECIAL) {
    const creds = { id: `${name}-app`, key: `${name}-key`, secret: `${name}-secret` };
    apps.push({ ...creds, ...settings });
    options[`${name}AppKey`] = creds.key;
    options[`${name}AppSecret`] = creds.secret;
  }
  apps.push({
    id: 'webhook-app',
    key: 'webhook-key',
    secret: 'webhook-secret',
    webhooks: [{ url: `http://${HOST}:${webhookPort}/all` }, { url: `http://${HOST}:${webhookPort}/only-member-added`, eventTypes: ['member_added'] }],
  });
  const [mainServer, prefixServer, overloadServer] = await Promise.all([
    startServer('main', { apps }),
    startServer('prefix', { pathPrefix: '/pfx', apps: [MAIN] }),
    startServer('overload', { maxSocketsPerProcess: 1, apps: [MAIN] }),
  ]);
  const base = { host: HOST, tls: false, appId: MAIN.id, key: MAIN.key, secret: MAIN.secret };
  main = {
    ...base,
    port: mainServer.port,
    pathPrefix: '',
    options: { ...options, overloadPort: String(overloadServer.port), serverPid: String(mainServer.cli.child.pid) },
  };
  prefixed = { ...base, port: prefixServer.port, pathPrefix: '/pfx', options: {} };
});

after(async () => {
  for (const cli of servers) cli.child.kill('SIGKILL');
  await Promise.all(servers.map((cli) => cli.exited));
  rmSync(tmp, { recursive: true, force: true });
});

// First: the main run ends by stopping its server (item 18); this one uses another server anyway.
test(`conformance (transport ${TRANSPORT}): path prefix /pfx (items 4, 84)`, async (t) => {
  await report(t, await runConformance(prefixed, { only: '4,84' }));
});

test(`conformance (transport ${TRANSPORT}): docs/PROTOCOL.md §10 against broadcasty`, async (t) => {
  await report(t, await runConformance(main, { exclude: [4, 84] }));
});
