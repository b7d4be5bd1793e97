// The Laravel .env Broadcasty shares: read as Laravel reads it, listened on where it expects,
// its Redis and foreign settings never acting silently, and apps from every source merged.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseDotenv, withDotenv } from '../src/config/dotenv.js';
import { ConfigError, loadSetup } from '../src/config/load.js';
import { REVERB_DOTENV } from './support/laravel-env.js';
import { scratchDir } from './support/scratch.js';


const setup = (env: Record<string, string>, configFile?: string) => loadSetup({ env, configFile });
const warnings = (env: Record<string, string>) => setup(env).notices.map((n) => `${n.level}: ${n.message}`);

function file(name: string, content: string): string {
  const path = join(scratchDir('env-file'), name);
  writeFileSync(path, content);
  return path;
}

describe('.env syntax (as Laravel / phpdotenv reads it)', () => {
  it('reads the file install:broadcasting writes, interpolating ${NAME}', () => {
    const values = parseDotenv(REVERB_DOTENV);
    assert.equal(values.REVERB_HOST, 'localhost');
    assert.equal(values.REVERB_PORT, '8080');
    assert.equal(values.VITE_REVERB_APP_KEY, 'u8qzlfsbtfhsb4qxa6ep');
    assert.equal(values.VITE_APP_NAME, 'Laravel');
    assert.equal(values.REDIS_PASSWORD, 'null');
    assert.equal(values['# Broadcasting'], undefined);
  });

  it('quotes, escapes, comments, export, multi-line values; interpolation from the real env first', () => {
    const text = [
      'export A=plain # a comment',
      "B='single ${A} stays'",
      'C="double ${A} \\"q\\" \\${A}"',
      'D="line one',
      'line two"',
      'E=url#not-a-comment',
      'F=${REAL}-${A}',
      'G=',
    ].join('\n');
    assert.deepEqual(parseDotenv(text, { REAL: 'from-env', A: 'env-wins' }), {
      A: 'plain',
      B: 'single ${A} stays',
      C: 'double env-wins "q" ${A}',
      D: 'line one\nline two',
      E: 'url#not-a-comment',
      F: 'from-env-env-wins',
      G: '',
    });
    assert.throws(() => parseDotenv('GOOD=1\nnot a setting'), /line 2: expected NAME=value, got "not a setting"/);
    assert.throws(() => parseDotenv('A="never closed'), /the " quote opened for A is never closed/);
  });

  it('real environment variables win over the file; a missing --env-file is an error, a missing ./.env is not', () => {
    const dir = scratchDir('env-cwd');
    writeFileSync(join(dir, '.env'), 'REVERB_APP_KEY=from-file\nREVERB_APP_ID=1\n');
    const loaded = withDotenv({ REVERB_APP_ID: '2' }, { cwd: dir });
    assert.equal(loaded.file, join(dir, '.env'));
    assert.equal(loaded.env.REVERB_APP_KEY, 'from-file');
    assert.equal(loaded.env.REVERB_APP_ID, '2');
    assert.deepEqual(withDotenv({ X: '1' }, { cwd: scratchDir('empty') }), { env: { X: '1' }, file: undefined });
    assert.throws(() => withDotenv({}, { envFile: '/nonexistent/.env' }), /Invalid setting --env-file: cannot read \/nonexistent\/\.env/);
  });
});

describe('where a .env says to listen', () => {
  it('a Reverb-shaped .env listens where reverb:start does: REVERB_SERVER_HOST/PORT, default 0.0.0.0:8080', () => {
    const reverb = setup(parseDotenv(REVERB_DOTENV));
    assert.equal(reverb.shape, 'reverb');
    assert.deepEqual([reverb.config.host, reverb.config.port], ['0.0.0.0', 8080]);
    assert.equal(setup({ REVERB_APP_KEY: 'k', REVERB_SERVER_HOST: '127.0.0.1', REVERB_SERVER_PORT: '9090' }).config.port, 9090);
    // BROADCAST_CONNECTION decides over leftover keys; a Pusher/soketi .env keeps 6001.
    assert.equal(setup({ BROADCAST_CONNECTION: 'pusher', REVERB_APP_KEY: 'k', PUSHER_APP_KEY: 'k' }).config.port, 6001);
    assert.equal(setup({ PUSHER_APP_KEY: 'k', PUSHER_PORT: '443' }).config.port, 6001);
    assert.equal(setup({ BROADCAST_CONNECTION: 'reverb' }).config.port, 8080);
    // The config file and BROADCASTY_PORT still win over the Reverb default.
    assert.equal(setup({ REVERB_APP_KEY: 'k' }, file('port.json', '{"port": 7000}')).config.port, 7000);
    assert.equal(setup({ REVERB_APP_KEY: 'k', BROADCASTY_PORT: '7001' }).config.port, 7001);
  });

  it('never binds REVERB_PORT / PUSHER_PORT, but warns when they name this machine on another port', () => {
    assert.deepEqual(warnings({ REVERB_APP_KEY: 'k', REVERB_HOST: 'localhost', REVERB_PORT: '8080', REVERB_SERVER_PORT: '6001' }), [
      'warn: REVERB_HOST=localhost and REVERB_PORT=8080, but Broadcasty listens on port 6001: Echo and Laravel will not reach it. Set REVERB_SERVER_PORT=8080, or REVERB_PORT=6001.',
    ]);
    assert.deepEqual(warnings({ PUSHER_APP_KEY: 'k', PUSHER_HOST: '127.0.0.1', PUSHER_PORT: '6002' }), [
      'warn: PUSHER_HOST=127.0.0.1 and PUSHER_PORT=6002, but Broadcasty listens on port 6001: Echo and Laravel will not reach it. Set BROADCASTY_PORT=6002, or PUSHER_PORT=6001.',
    ]);
    // A TLS proxy in front (another host, port 443) is the normal production shape: no warning.
    assert.deepEqual(warnings({ REVERB_APP_KEY: 'k', REVERB_HOST: 'ws.example.com', REVERB_PORT: '443', REVERB_SCHEME: 'https' }), []);
    assert.deepEqual(warnings(parseDotenv(REVERB_DOTENV)), []);
  });
});

describe('Redis from a Laravel .env', () => {
  it('REDIS_URL alone does not switch the engine (it is the Laravel cache\'s); it says so', () => {
    const plain = setup({ REDIS_URL: 'redis://10.0.0.5:6379' });
    assert.equal(plain.config.redisUrl, undefined);
    assert.deepEqual(plain.notices, [{ level: 'info', message: "REDIS_URL is set (Laravel's) but not used: in-memory engine. BROADCASTY_REDIS=1 runs the Redis engine on it." }]);
  });

  it('BROADCASTY_REDIS=1 opts in: REDIS_URL, else REDIS_HOST/PORT/PASSWORD (null = none); BROADCASTY_REDIS_URL wins', () => {
    assert.equal(setup({ BROADCASTY_REDIS: '1', REDIS_URL: 'redis://10.0.0.5:6379' }).config.redisUrl, 'redis://10.0.0.5:6379');
    assert.equal(setup({ ...parseDotenv(REVERB_DOTENV), BROADCASTY_REDIS: 'true' }).config.redisUrl, 'redis://127.0.0.1:6379');
    assert.equal(setup({ BROADCASTY_REDIS: '1', REDIS_HOST: 'cache', REDIS_PASSWORD: 'p@ss', REDIS_PORT: '6380' }).config.redisUrl, 'redis://:p%40ss@cache:6380');
    assert.equal(setup({ BROADCASTY_REDIS: '1', REDIS_URL: 'redis://a', BROADCASTY_REDIS_URL: 'redis://b' }).config.redisUrl, 'redis://b');
    assert.throws(() => setup({ BROADCASTY_REDIS: '1', REDIS_URL: 'http://x' }), /Invalid setting REDIS_URL: got "http:\/\/x"; must start with redis:\/\//);
  });
});

describe('soketi and Reverb settings Broadcasty does not read', () => {
  it('warns once per setting present, naming the Broadcasty equivalent', () => {
    assert.deepEqual(
      warnings({ SOKETI_DEBUG: '1', SOKETI_ADAPTER_DRIVER: 'redis', REVERB_SCALING_ENABLED: 'true', SOKETI_SOMETHING_NEW: 'x', SOKETI_PORT: '6001', REVERB_HOST: 'example.com' }),
      [
        'warn: REVERB_SCALING_ENABLED is not read by Broadcasty; use BROADCASTY_REDIS_URL (or BROADCASTY_REDIS=1 to use REDIS_URL / REDIS_HOST)',
        'warn: SOKETI_ADAPTER_DRIVER is not read by Broadcasty; use BROADCASTY_REDIS_URL (or BROADCASTY_REDIS=1 to use REDIS_URL / REDIS_HOST)',
        'warn: SOKETI_DEBUG is not read by Broadcasty; use BROADCASTY_DEBUG=1',
        'warn: SOKETI_SOMETHING_NEW is not read by Broadcasty; see `broadcasty --help` for the settings Broadcasty reads',
      ],
    );
    // Values that ask for what Broadcasty does anyway stay quiet.
    assert.deepEqual(warnings({ SOKETI_DEBUG: '0', SOKETI_ADAPTER_DRIVER: 'local', REVERB_SCALING_ENABLED: 'false' }), []);
  });
});

describe('apps from the config file, BROADCASTY_APPS and the env app', () => {
  const hook = [{ url: 'https://example.com/hook' }];

  it('the env app overlays the configured app with its id: webhooks, limits and other apps stay', () => {
    const config = file('apps.json', JSON.stringify({ apps: [{ id: '42', key: 'old-key', secret: 's', webhooks: hook, subscriptionCount: true }, { id: 'other', key: 'ok', secret: 'os' }] }));
    const { config: merged } = setup({ PUSHER_APP_ID: '42', PUSHER_APP_KEY: 'laravel-key', PUSHER_APP_SECRET: 's' }, config);
    assert.deepEqual(
      merged.apps.map((a) => [a.id, a.key, a.webhooks.length, a.subscriptionCount]),
      [['42', 'laravel-key', 1, true], ['other', 'ok', 0, false]],
    );
    const list = setup({ BROADCASTY_APPS: JSON.stringify([{ id: '42', key: 'k', secret: 's', webhooks: hook }]), REVERB_APP_ID: '7', REVERB_APP_KEY: 'rk', REVERB_APP_SECRET: 'rs' });
    assert.deepEqual(list.config.apps.map((a) => [a.id, a.webhooks.length]), [['42', 1], ['7', 0]]);
  });

  it('the config file and BROADCASTY_APPS merge by id; conflicting definitions name both sources', () => {
    const config = file('both.json', JSON.stringify({ apps: [{ id: 'a', key: 'ka', secret: 'sa', webhooks: hook }] }));
    const merged = setup({ BROADCASTY_APPS: JSON.stringify([{ id: 'a', maxConnections: 5 }, { id: 'b', key: 'kb', secret: 'sb' }]) }, config).config.apps;
    assert.deepEqual(merged.map((a) => [a.id, a.webhooks.length, a.maxConnections]), [['a', 1, 5], ['b', 0, null]]);

    const fails = (env: Record<string, string>, message: string) =>
      assert.throws(() => setup(env, config), (e: unknown) => e instanceof ConfigError && e.message === message);
    fails(
      { BROADCASTY_APPS: JSON.stringify([{ id: 'a', key: 'ka', secret: 'other' }]) },
      `Conflicting app definitions: app id "a" has a different secret in BROADCASTY_APPS[0] than in apps[0] of ${config}; define the app once or make them agree`,
    );
    fails(
      { BROADCASTY_APPS: JSON.stringify([{ id: 'z', key: 'ka', secret: 'sz' }]) },
      `Conflicting app definitions: app key "ka" is app "a" in apps[0] of ${config} but app "z" in BROADCASTY_APPS[0]; define the app once or make them agree`,
    );
    fails(
      { PUSHER_APP_ID: 'z', PUSHER_APP_KEY: 'ka', PUSHER_APP_SECRET: 's' },
      `Conflicting app definitions: app key "ka" is app "a" in apps[0] of ${config} but app "z" in PUSHER_APP_KEY / PUSHER_APP_ID; define the app once or make them agree`,
    );
  });

  it('a bad field names where it came from', () => {
    assert.throws(() => setup({ BROADCASTY_APPS: JSON.stringify([{ id: 'a', key: 'k', secret: 's', maxConnections: 'lots' }]) }), /Invalid setting BROADCASTY_APPS\[0\]\.maxConnections: got "lots"/);
    assert.throws(() => setup({ PUSHER_APP_ID: '1', BROADCASTY_APP_MAX_CONNECTIONS: '0' }), /Invalid setting BROADCASTY_APP_MAX_CONNECTIONS: got 0/);
  });
});
