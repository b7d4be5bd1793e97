// `broadcasty doctor` on a good setup and on deliberately broken ones: each check says ok, FAIL
// (with what is wrong and how to fix it) or skip, and the exit code is 1 when anything failed.
// The end-to-end check runs pusher-js in a child process as operators run it (pusher-js keeps
// timers that would hold this test process); the `ws` fallback runs here.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkEndToEnd } from '../src/cli/doctor-e2e.js';
import { loadConfig } from '../src/config/load.js';
import { startServer, type RunningServer } from '../src/server.js';
import { cliInProcess, cliResult, freePort } from './support/cli-process.js';
import { APP } from './support/cluster.js';
import { scratchDir } from './support/scratch.js';

const POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** `status  name  detail` lines by check name (fix lines folded into their check). */
function checks(stdout: string): Record<string, { status: string; text: string }> {
  const found: Record<string, { status: string; text: string }> = {};
  let last = '';
  for (const line of stdout.split('\n')) {
    const head = /^(ok|FAIL|skip) +(\S+) +/.exec(line);
    if (head !== null) {
      last = head[2]!;
      found[last] = { status: head[1]!, text: line };
    } else if (line.trim() !== '') found[last]!.text += `\n${line}`;
  }
  return found;
}

describe('broadcasty doctor', () => {
  let server: RunningServer;
  let dir: string;
  const configFile = (name: string, settings: object) => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify({ host: '127.0.0.1', port: server.port, logLevel: 'silent', ...settings }));
    return file;
  };

  before(async () => {
    dir = scratchDir('cli-doctor');
    server = await startServer(loadConfig({ env: {}, overrides: { host: '127.0.0.1', port: 0, logLevel: 'silent', apps: [APP] } }));
  });
  after(() => server.shutdown());

  it('a good setup: every check ok or skip, pusher-js receives the event end to end, exit 0; a wrong secret is a clear FAIL, exit 1', async () => {
    const [good, wrongSecret] = await Promise.all([
      cliResult(['doctor', '--config', configFile('good.json', { apps: [APP] })]),
      cliResult(['doctor', '--config', configFile('wrong-secret.json', { apps: [{ ...APP, secret: 'not-the-secret' }] })]),
    ]);
    assert.equal(good.code, 0, good.stdout + good.stderr);
    const found = checks(good.stdout);
    assert.deepEqual(
      Object.fromEntries(Object.entries(found).map(([name, check]) => [name, check.status])),
      { config: 'ok', app: 'ok', redis: 'skip', database: 'skip', server: 'ok', 'end-to-end': 'ok' },
    );
    assert.match(found['end-to-end']!.text, /pusher-js connected with key app-key, subscribed broadcasty-doctor-\w+ and received the event/);

    assert.equal(wrongSecret.code, 1, wrongSecret.stdout + wrongSecret.stderr);
    const failed = checks(wrongSecret.stdout)['end-to-end']!;
    assert.equal(failed.status, 'FAIL');
    assert.match(failed.text, /the server refused the signature: the secret in your config does not match the server's app app-id \(401 Invalid signature/);
    assert.match(failed.text, /fix: set secret in .*wrong-secret\.json|fix: set apps\[0\]\.secret in .*wrong-secret\.json/);
    assert.doesNotMatch(wrongSecret.stdout, /not-the-secret/);
  });

  it('the ws fallback (no pusher-js) connects, subscribes and receives too, and names the wrong secret', async () => {
    const baseUrl = `http://127.0.0.1:${server.port}`;
    const ok = await checkEndToEnd(baseUrl, { ...loadConfig({ env: {}, overrides: { apps: [APP] } }).apps[0]! }, 'BROADCASTY_APP_SECRET', false);
    assert.equal(ok.status, 'ok', ok.detail);
    assert.match(ok.detail, /^ws \(pusher-js is not installed: the Pusher protocol spoken directly\) connected with key app-key/);
    const wrong = await checkEndToEnd(baseUrl, { ...loadConfig({ env: {}, overrides: { apps: [{ ...APP, secret: 'nope' }] } }).apps[0]! }, 'BROADCASTY_APP_SECRET', false);
    assert.equal(wrong.status, 'FAIL');
    assert.match(wrong.detail, /^the server refused the signature: the secret in your config does not match the server's app app-id \(401 /);
    assert.equal(wrong.fix, "set BROADCASTY_APP_SECRET to the secret of the server's app app-id");
    const unknownKey = await checkEndToEnd(baseUrl, { ...loadConfig({ env: {}, overrides: { apps: [{ ...APP, key: 'other-key' }] } }).apps[0]! }, 'BROADCASTY_APP_SECRET', false);
    assert.equal(unknownKey.status, 'FAIL');
    assert.match(unknownKey.detail, /refused .*\(4001 App key other-key not in this cluster/);
    assert.match(unknownKey.fix!, /the key in your config \(other-key\) is not one of the server's apps/);
  });

  it('Redis down: FAIL naming the URL without its password, exit 1', async () => {
    const url = `redis://:hunter2-password@127.0.0.1:${await freePort()}`;
    const result = await cliInProcess(['doctor', '--config', configFile('redis-down.json', { apps: [APP], redisUrl: url })]);
    assert.equal(result.code, 1);
    const redis = checks(result.stdout).redis!;
    assert.equal(redis.status, 'FAIL');
    assert.match(redis.text, /Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ does not answer \(ECONNREFUSED\)\n +fix: start Redis there, or set redisUrl in .*redis-down\.json to where it runs/);
    assert.doesNotMatch(result.stdout + result.stderr, /hunter2/);
  });

  it('settings that do not load: FAIL with the settings error as is, the rest skipped; --json says the same', async () => {
    const result = await cliInProcess(['doctor', '--json', '--config', configFile('bad.json', { apps: [APP], port: 'six thousand' })]);
    assert.equal(result.code, 1);
    const report = JSON.parse(result.stdout);
    assert.equal(report.ok, false);
    assert.equal(report.checks[0].name, 'config');
    assert.equal(report.checks[0].status, 'FAIL');
    assert.match(report.checks[0].detail, /^Invalid setting port in .*bad\.json: got "six thousand"; /);
    assert.deepEqual(
      report.checks.slice(1).map((check: { status: string }) => check.status),
      ['skip', 'skip', 'skip', 'skip', 'skip'],
    );
  });

  it('no server running: the port is free for broadcasty start, end to end skipped; --url with nothing there is a FAIL', async () => {
    const port = await freePort();
    const [idle, elsewhere] = await Promise.all([
      cliInProcess(['doctor', '--config', configFile('idle.json', { apps: [APP], port })]),
      cliInProcess(['doctor', '--url', `http://127.0.0.1:${port}`, '--config', configFile('idle.json', { apps: [APP], port })]),
    ]);
    assert.equal(idle.code, 0, idle.stdout);
    const found = checks(idle.stdout);
    assert.match(found.server!.text, new RegExp(`^ok +server +no server running at http://127\\.0\\.0\\.1:${port}; 127\\.0\\.0\\.1:${port} is free`));
    assert.equal(found['end-to-end']!.status, 'skip');
    assert.equal(elsewhere.code, 1);
    assert.match(checks(elsewhere.stdout).server!.text, /^FAIL +server +nothing answers at http:\/\/127\.0\.0\.1:\d+\n +fix: start broadcasty there, or check --url/);
  });

  it('the port held by another program: FAIL saying so', async () => {
    const result = await cliInProcess(['doctor', '--config', configFile('taken.json', { apps: [APP], port: server.port, pathPrefix: '/elsewhere' })]);
    assert.equal(result.code, 1);
    assert.match(checks(result.stdout).server!.text, /^FAIL +server +something that is not Broadcasty answers at http:\/\/127\.0\.0\.1:\d+\/elsewhere: GET \/up → 404/);
  });

  it('a database in use: ok when it answers SELECT 1, FAIL naming it without its password when it does not', async () => {
    const down = `postgres://postgres:db-password@127.0.0.1:${await freePort()}/test`;
    const [up, unreachable] = await Promise.all([
      cliInProcess(['doctor', '--config', configFile('db-up.json', { apps: [APP], pushDevices: 'postgres', databaseUrl: POSTGRES_URL })]),
      cliInProcess(['doctor', '--config', configFile('db-down.json', { apps: [APP], audit: { sink: 'postgres' }, databaseUrl: down })]),
    ]);
    const database = checks(up.stdout).database!;
    assert.match(database.text, /^ok +database +postgres:\/\/postgres@127\.0\.0\.1:5432\/test answers SELECT 1 \(pushDevices postgres\)/);
    const failed = checks(unreachable.stdout).database!;
    assert.match(failed.text, /^FAIL +database +postgres at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/test: .*ECONNREFUSED/);
    assert.match(failed.text, /fix: start the database, or set databaseUrl in .*db-down\.json \(used by audit\.sink postgres\)/);
    assert.doesNotMatch(unreachable.stdout, /db-password/);
  });
});
