// The client commands as an operator runs them against a real server, finding the server and the
// app from the same settings file as the server. What is asserted is what the operator sees: the
// output, the exit code, and the effect on clients. Most run in this process (cliInProcess: a
// child costs seconds each here); monitor, the top-level --help and the exit codes run as children.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signUser } from '../protocol/index.js';
import { activityLine } from '../src/cli/monitor.js';
import { loadConfig } from '../src/config/load.js';
import { startServer, type RunningServer } from '../src/server.js';
import { cliInProcess, cliResult, runCli } from './support/cli-process.js';
import { APP, rawSubscriber, triggerRaw, until } from './support/cluster.js';
import { RawClient } from './support/in-process.js';
import { scratchDir } from './support/scratch.js';

const ADMIN = 'cli-admin-token-0123456789';
const OTHER = { id: 'other-id', key: 'other-key', secret: 'other-secret' };

describe('broadcasty client commands against a running server', () => {
  let server: RunningServer;
  let configFile: string;
  let twoAppsFile: string;
  const sockets: RawClient[] = [];
  const cli = (args: string[]) => cliInProcess([...args, '--config', configFile]);

  before(async () => {
    const dir = scratchDir('cli');
    configFile = join(dir, 'config.json');
    twoAppsFile = join(dir, 'two-apps.json');
    const settings = { host: '127.0.0.1', apps: [APP], adminToken: ADMIN, logLevel: 'silent' };
    server = await startServer(loadConfig({ env: {}, overrides: { ...settings, port: 0 } }));
    // What a command next to the server reads: the same settings, the port the server got.
    writeFileSync(configFile, JSON.stringify({ ...settings, port: server.port }));
    writeFileSync(twoAppsFile, JSON.stringify({ ...settings, port: server.port, apps: [APP, OTHER] }));
  });
  after(async () => {
    for (const socket of sockets) socket.close();
    await server.shutdown();
  });

  it('trigger delivers the JSON data to a subscriber and says so; --json prints the answer', async () => {
    const subscriber = await rawSubscriber(server.port, ['orders']);
    sockets.push(subscriber);
    const human = await cli(['trigger', 'orders', 'order.shipped', '{"id":42}']);
    assert.equal(human.code, 0, human.stderr);
    assert.equal(human.stdout, 'sent order.shipped to orders\n');
    const frame = await subscriber.next((f) => f.event === 'order.shipped', 10_000);
    assert.deepEqual({ channel: frame.channel, data: frame.data }, { channel: 'orders', data: '{"id":42}' });
    const json = await cli(['trigger', 'orders', 'order.paid', '--json']);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), {});
    assert.equal((await subscriber.next((f) => f.event === 'order.paid', 10_000)).data, '{}');
  });

  it('channels lists the occupied channels with counts, presence ones with user counts under --prefix presence-', async () => {
    sockets.push(await rawSubscriber(server.port, ['news']), await rawSubscriber(server.port, ['news']), await rawSubscriber(server.port, ['presence-room'], 'ada'));
    const [all, presence, none] = await Promise.all([cli(['channels', '--json']), cli(['channels', '--prefix', 'presence-']), cli(['channels', '--prefix', 'nothing-'])]);
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(JSON.parse(all.stdout).channels.news, { subscription_count: 2 });
    assert.equal(presence.code, 0, presence.stderr);
    assert.equal(presence.stdout, 'presence-room  1 subscription, 1 user\n');
    assert.equal(none.stdout, 'no occupied channels starting with nothing-\n');
  });

  it('channel shows one channel; users lists a presence channel; a refusal is exit 1 with status and body', async () => {
    sockets.push(await rawSubscriber(server.port, ['presence-lobby'], 'grace'));
    const [channel, unoccupied, users, notPresence] = await Promise.all([
      cli(['channel', 'presence-lobby', '--json']),
      cli(['channel', 'quiet']),
      cli(['users', 'presence-lobby']),
      cli(['users', 'quiet']),
    ]);
    assert.equal(channel.code, 0, channel.stderr);
    assert.deepEqual(JSON.parse(channel.stdout), { occupied: true, user_count: 1, subscription_count: 1 });
    assert.equal(unoccupied.stdout, 'quiet  not occupied, 0 subscriptions\n');
    assert.equal(users.stdout, 'grace\n');
    assert.equal(notPresence.code, 1);
    assert.match(notPresence.stderr, /^the server answered 400: .+/);
  });

  it('terminate closes the sockets signed in as the user with 4009', async () => {
    const client = await RawClient.connect(server.port, APP.key);
    sockets.push(client);
    const socketId = await client.established();
    const userData = JSON.stringify({ id: 'u-9' });
    client.send({ event: 'pusher:signin', data: { auth: signUser(APP.key, APP.secret, socketId, userData), user_data: userData } });
    await client.next((f) => f.event === 'pusher:signin_success', 10_000);
    const result = await cli(['terminate', 'u-9']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'terminated the connections of user u-9\n');
    assert.equal((await client.closed).code, 4009);
  });

  it('stats shows the connections by transport from the admin API, with the configured admin token', async () => {
    const result = await until(async () => {
      const run = await cli(['stats', '--json']);
      assert.equal(run.code, 0, run.stderr);
      const stats = JSON.parse(run.stdout);
      return stats.connections.byTransport.ws >= 1 ? stats : undefined;
    }, 20_000);
    assert.equal(result.app, APP.id);
    assert.equal(result.nodes.length, 1);
    const human = await cli(['stats']);
    assert.match(human.stdout, /^app app-id at .+\nconnections +\d+ \(ws \d+\)\n/);
    const refused = await cli(['stats', '--token', 'wrong-token-0123456789']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^the server answered 401: /);
  });

  it('monitor --json prints an event published while it runs as a JSON line, monitor one human line; SIGTERM and SIGINT exit 0', async () => {
    const json = runCli(['monitor', '--json', '--channel', 'live-*', '--config', configFile]);
    const human = runCli(['monitor', '--kinds', 'publish', '--event', 'order.*', '--config', configFile]);
    try {
      // Both taps are open once a warm-up event that matches both filters shows in both.
      await until(
        async () => {
          await triggerRaw(server.port, 'live-warmup', 'order.warmup', {});
          return json.stdout().includes('order.warmup') && human.stdout().includes('order.warmup');
        },
        30_000,
        'both taps to open',
      );
      const reply = await triggerRaw(server.port, 'live-orders', 'order.created', 'x'.repeat(40));
      assert.equal(reply.status, 200, reply.body);
      await triggerRaw(server.port, 'elsewhere', 'ignored', {});
      const line = await until(() => json.stdout().split('\n').find((text) => text.includes('order.created')), 20_000, 'the event in monitor --json');
      const activity = JSON.parse(line!);
      assert.deepEqual(
        { kind: activity.kind, appId: activity.appId, channel: activity.channel, event: activity.event, data: activity.data, source: activity.source },
        { kind: 'publish', appId: APP.id, channel: 'live-orders', event: 'order.created', data: JSON.stringify('x'.repeat(40)), source: 'http' },
      );
      assert.equal(typeof activity.node, 'string');
      await until(() => human.stdout().includes('order.created'), 20_000, 'the event in monitor');
    } finally {
      json.child.kill('SIGTERM');
      human.child.kill('SIGINT');
    }
    assert.equal(await json.exited, 0, json.stderr());
    assert.equal(await human.exited, 0, human.stderr());
    assert.doesNotMatch(json.stdout(), /ignored/);
    // The data is JSON.stringify-ed by triggerRaw: 40 characters and two quotes.
    const created = human.stdout().split('\n').filter((text) => text.includes('order.created'));
    assert.equal(created.length, 1);
    assert.match(created[0]!, /^\d\d:\d\d:\d\d publish live-orders order\.created 42 B \(app\)$/);
  });

  it('monitor prints control characters from clients as \\xNN, so they cannot drive the terminal', () => {
    const at = Date.now();
    const time = new Date(at).toTimeString().slice(0, 8);
    const lines = [
      activityLine({ kind: 'auth_failure', at, surface: 'connect', reason: 'bad key \x1b]0;owned\x07\x1b[2J' }),
      activityLine({ kind: 'member_added', at, appId: APP.id, channel: 'presence-room', userId: 'ada\r\x9b31m\x7f' }),
      activityLine({ kind: 'publish', at, appId: APP.id, channel: 'orders', event: 'order\nfake', bytes: 2, data: '{}', source: 'client', actor: '1.2' }),
    ];
    assert.deepEqual(lines, [
      `${time} auth_failure connect: bad key \\x1b]0;owned\\x07\\x1b[2J`,
      `${time} member_added presence-room ada\\x0d\\x9b31m\\x7f`,
      `${time} publish orders order\\x0afake 2 B (1.2)`,
    ]);
  });

  it('usage errors exit 2 with the usage; several apps without --app name the choices', async () => {
    const [missing, unknownOption, badJson, several, unknownApp] = await Promise.all([
      cli(['trigger', 'orders']),
      cli(['channels', '--colour']),
      cli(['trigger', 'orders', 'e', '{not json']),
      cliInProcess(['channels', '--config', twoAppsFile]),
      cli(['channels', '--app', 'nope']),
    ]);
    for (const result of [missing, unknownOption, badJson, several, unknownApp]) {
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stdout, '');
    }
    assert.match(missing.stderr, /^trigger: missing argument\nusage: broadcasty trigger <channel> <event> \[json\]/);
    assert.match(unknownOption.stderr, /Unknown option '--colour'[\s\S]*usage: broadcasty channels/);
    assert.match(badJson.stderr, /^the data must be JSON/);
    assert.match(several.stderr, /^several apps are configured: pass --app with one of app-id, other-id\n/);
    assert.match(unknownApp.stderr, /^unknown app "nope": the configured apps are app-id\n/);
    const chosen = await cliInProcess(['channels', '--app', OTHER.id, '--config', twoAppsFile]);
    assert.equal(chosen.code, 1, 'the server does not know other-id');
    assert.match(chosen.stderr, /^the server answered 404: /);
  });

  it('the process exits with the code: 3 when no server answers at the URL, 2 on a usage error', async () => {
    const [unreachable, usage] = await Promise.all([cliResult(['channels', '--url', 'http://127.0.0.1:9', '--config', configFile]), cliResult(['users'])]);
    assert.equal(unreachable.code, 3);
    assert.match(unreachable.stderr, /^cannot reach the server at http:\/\/127\.0\.0\.1:9 \(.+\): is broadcasty running there\?/);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /^users: missing argument\nusage: broadcasty users <presence-channel>/);
  });

  it('--help on every command prints its usage and exits 0; broadcasty --help lists them', async () => {
    const commands = ['trigger', 'channels', 'channel', 'users', 'terminate', 'stats', 'monitor', 'keygen', 'token', 'doctor'];
    const results = await Promise.all([...commands.map((command) => cliInProcess([command, '--help'])), cliResult(['--help'])]);
    for (const [i, command] of commands.entries()) {
      assert.equal(results[i]!.code, 0);
      assert.match(results[i]!.stdout, new RegExp(`^usage: broadcasty ${command}\\b[\\s\\S]*Example: broadcasty ${command}`));
    }
    const top = results.at(-1)!.stdout;
    for (const command of commands) assert.match(top, new RegExp(`\\n  ${command} +\\S`));
  });
});
