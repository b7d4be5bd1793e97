// The JSON-file app registry (reloaded on edit, bad edits ignored) and the registry settings'
// errors, which name the setting, the value and what is allowed.
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { JsonFileRegistry } from '../src/apps/json-file.js';
import { ConfigError, loadConfig } from '../src/config/load.js';
import { runCli } from './support/cli-process.js';
import { RawClient, startTestServer } from './support/in-process.js';
import { scratchDir } from './support/scratch.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function appsFile(apps: unknown[]): string {
  const file = join(scratchDir('apps'), 'apps.json');
  writeFileSync(file, JSON.stringify({ apps }));
  return file;
}

async function eventually(what: string, check: () => Promise<boolean>, ms = 4000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(25);
  }
}

/** The first frame's pusher:error code, or 0 when the socket was accepted. */
async function refusalCode(port: number, key: string): Promise<number> {
  const client = await RawClient.connect(port, key);
  const first = await client.next((f) => f.event === 'pusher:error' || f.event === 'pusher:connection_established');
  client.close();
  return first.event === 'pusher:error' ? (first.data as { code: number }).code : 0;
}

describe('json app registry', () => {
  it('serves the apps in the file and picks up an edit without a restart, also for open sockets', async () => {
    const file = appsFile([{ id: 'a', key: 'key-a', secret: 'sa' }, { id: 'c', key: 'key-c', secret: 'sc' }]);
    const server = await startTestServer({ appRegistry: 'json', appsFile: file });
    try {
      assert.equal(await refusalCode(server.port, 'key-a'), 0);
      assert.equal(await refusalCode(server.port, 'key-b'), 4001);
      const openA = await RawClient.connect(server.port, 'key-a');
      const openC = await RawClient.connect(server.port, 'key-c');
      await Promise.all([openA.established(), openC.established()]);
      writeFileSync(file, JSON.stringify({ apps: [{ id: 'a', key: 'key-a', secret: 'sa', enabled: false }, { id: 'b', key: 'key-b', secret: 'sb' }] }));
      await eventually('new app accepted', async () => (await refusalCode(server.port, 'key-b')) === 0);
      assert.equal(await refusalCode(server.port, 'key-a'), 4003);
      // Sockets already open follow the file: disabled → 4003, removed → 4001, each after a pusher:error.
      for (const [client, code] of [[openA, 4003], [openC, 4001]] as const) {
        const error = await client.next((f) => f.event === 'pusher:error', 3000);
        assert.equal((error.data as { code: number }).code, code);
        assert.equal((await client.closed).code, code);
      }
    } finally {
      await server.shutdown();
    }
  });

  it('keeps the previous apps after a bad edit, logs why, and follows a file replaced by rename', async () => {
    const file = appsFile([{ id: 'a', key: 'key-a', secret: 'sa' }]);
    const lines: string[] = [];
    const log = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }));
    const registry = new JsonFileRegistry(file, log);
    try {
      writeFileSync(file, JSON.stringify({ apps: [{ id: 'a', key: 'key-a', secret: '' }] }));
      await eventually('bad edit logged', async () => lines.some((l) => l.includes('previous apps kept')));
      assert.match(lines.join(''), /apps\[0\]\.secret: got \\"\\"/);
      assert.equal((await registry.findByKey('key-a'))?.secret, 'sa');

      // Editors save by writing a new file and renaming it over the old one.
      const next = `${file}.tmp`;
      writeFileSync(next, JSON.stringify({ apps: [{ id: 'a', key: 'key-a', secret: 'fixed' }] }));
      renameSync(next, file);
      await eventually('renamed file read', async () => (await registry.findById('a'))?.secret === 'fixed');
    } finally {
      await registry.close();
    }
  });

  it('refuses to start on a bad apps file, naming the file, the app index, the field and the value', async () => {
    const file = appsFile([{ id: 'a', key: 'k', secret: 's' }, { id: 'b', key: 'k2', secret: 's', maxConnections: -5 }]);
    const cli = runCli(['start', '--port', '0'], { BROADCASTY_APP_REGISTRY: 'json', BROADCASTY_APPS_FILE: file });
    assert.notEqual(await cli.exited, 0);
    assert.ok(cli.stderr().includes(`Invalid app in ${file}: apps[1].maxConnections: got -5; Number must be greater than 0`), cli.stderr());
    const duplicate = appsFile([{ id: 'a', key: 'k', secret: 's' }, { id: 'b', key: 'k', secret: 's' }]);
    assert.throws(() => new JsonFileRegistry(duplicate, pino({ level: 'silent' })), /apps\[1\]\.key: got "k"; duplicate app key/);
  });
});

describe('registry settings', () => {
  const fails = (env: Record<string, string>, message: RegExp) => assert.throws(() => loadConfig({ env }), (e: unknown) => e instanceof ConfigError && message.test(e.message));

  it('name the setting, the value and what is allowed', () => {
    fails({ BROADCASTY_APP_REGISTRY: 'redis' }, /Invalid setting BROADCASTY_APP_REGISTRY: got "redis"; Invalid enum value\. Expected 'static' \| 'json' \| 'postgres' \| 'mysql'/);
    fails({ BROADCASTY_APP_REGISTRY: 'json' }, /Invalid setting appsFile: got nothing; appRegistry "json" needs appsFile \(BROADCASTY_APPS_FILE\)/);
    fails({ BROADCASTY_APP_REGISTRY: 'postgres', BROADCASTY_DATABASE_URL: 'mysql://root@localhost/test' }, /Invalid setting BROADCASTY_DATABASE_URL: got "mysql:\/\/root@localhost\/test"; appRegistry "postgres" needs databaseUrl .* starting with postgres:\/\/ or postgresql:\/\//);
    fails({ BROADCASTY_APPS_TABLE: 'apps; drop table x' }, /Invalid setting BROADCASTY_APPS_TABLE: got "apps; drop table x"; expected a table name/);
    fails({ BROADCASTY_APPS_CACHE_TTL_MS: 'soon' }, /Invalid setting BROADCASTY_APPS_CACHE_TTL_MS: got "soon"; expected an integer/);
    const config = loadConfig({ env: { BROADCASTY_APP_REGISTRY: 'mysql', BROADCASTY_DATABASE_URL: 'mariadb://root@127.0.0.1/test' } });
    assert.deepEqual([config.appsTable, config.appsCacheTtlMs], ['broadcasty_apps', 5000]);
  });
});
