// Settings: defaults, the names users already have in .env, and errors that name
// the setting, the bad value and what is allowed.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config/load.js';
import { clusterOptions, sentinelOptions } from '../src/redis/url.js';
import { scratchDir } from './support/scratch.js';

const load = (env: Record<string, string>, configFile?: string) => loadConfig({ env, configFile });

function configFile(content: string): string {
  const file = join(scratchDir('config'), 'config.json');
  writeFileSync(file, content);
  return file;
}

describe('config', () => {
  it('serves one dev app on port 6001 with nothing set', () => {
    const config = load({});
    assert.equal(config.port, 6001);
    assert.equal(config.host, '0.0.0.0');
    assert.deepEqual(
      config.apps.map((a) => [a.id, a.key, a.secret, a.maxPresenceMembers, a.maxEventPayloadKb, a.maxChannelNameLength, a.activityTimeout]),
      [['app-id', 'app-key', 'app-secret', 100, 10, 164, 120]],
    );
  });

  for (const prefix of ['PUSHER', 'REVERB', 'BROADCASTY']) {
    it(`serves the one app named by ${prefix}_APP_ID/KEY/SECRET`, () => {
      const config = load({ [`${prefix}_APP_ID`]: '42', [`${prefix}_APP_KEY`]: 'k', [`${prefix}_APP_SECRET`]: 's' });
      assert.deepEqual(config.apps.map((a) => [a.id, a.key, a.secret]), [['42', 'k', 's']]);
    });
  }

  it('reads SOKETI_DEFAULT_APP_* and the port from PORT, REVERB_SERVER_PORT or BROADCASTY_PORT', () => {
    assert.equal(load({ SOKETI_DEFAULT_APP_ID: 'x', SOKETI_DEFAULT_APP_KEY: 'y', SOKETI_DEFAULT_APP_SECRET: 'z' }).apps[0].key, 'y');
    assert.equal(load({ PORT: '7000' }).port, 7000);
    assert.equal(load({ REVERB_SERVER_PORT: '8080', REVERB_SERVER_HOST: '127.0.0.1' }).port, 8080);
    assert.equal(load({ PORT: '7000', BROADCASTY_PORT: '7001' }).port, 7001);
  });

  it('names the env setting, the value and what is allowed', () => {
    assert.throws(() => load({ BROADCASTY_PORT: 'abc' }), (e: Error) => e instanceof ConfigError && /BROADCASTY_PORT: got "abc"; expected an integer/.test(e.message));
    assert.throws(() => load({ PORT: '70000' }), (e: Error) => /Invalid setting PORT: got 70000; .*65535/.test(e.message));
    assert.throws(() => load({ BROADCASTY_APP_CLIENT_EVENTS: 'maybe' }), /BROADCASTY_APP_CLIENT_EVENTS: got "maybe"; expected true or false/);
    assert.throws(() => load({ BROADCASTY_REDIS_URL: 'http://x' }), /BROADCASTY_REDIS_URL: got "http:\/\/x"; must start with redis:\/\//);
    assert.throws(() => load({ BROADCASTY_REDIS: '1', REDIS_URL: 'redis+sentinel://s1:26379,s2:99999/primary' }), /REDIS_URL: got "redis\+sentinel:\/\/s1:26379,s2:99999\/primary"; bad sentinel address "s2:99999" \(host:port\)/);
    assert.throws(() => load({ BROADCASTY_REDIS_URL: 'redis+sentinel://s1:26379' }), /BROADCASTY_REDIS_URL: .*not a Sentinel URL \(redis:\/\/, rediss:\/\/, redis\+sentinel:\/\/host:port\[,host:port…\]\/masterName or redis\+cluster:\/\/host:port\[,host:port…\]\)/);
  });

  it('accepts a Sentinel URL: sentinels, master name, credentials, database, TLS', () => {
    assert.equal(load({ BROADCASTY_REDIS_URL: 'redis+sentinel://a:1,b/main' }).redisUrl, 'redis+sentinel://a:1,b/main');
    assert.deepEqual(sentinelOptions('redis+sentinel://a:1,b/main'), { sentinels: [{ host: 'a', port: 1 }, { host: 'b', port: 26379 }], name: 'main' });
    assert.deepEqual(sentinelOptions('rediss+sentinel://user:p%40ss@a:26380/main/2'), {
      sentinels: [{ host: 'a', port: 26380 }],
      name: 'main',
      username: 'user',
      password: 'p@ss',
      db: 2,
      tls: {},
      enableTLSForSentinelMode: true,
    });
    assert.equal(sentinelOptions('redis://a:6379'), undefined);
  });

  it('accepts a Redis Cluster URL of seed nodes', () => {
    assert.equal(load({ BROADCASTY_REDIS_URL: 'redis+cluster://a:7000,b' }).redisUrl, 'redis+cluster://a:7000,b');
    assert.deepEqual(clusterOptions('rediss+cluster://:secret@a:7000,b'), {
      nodes: [{ host: 'a', port: 7000 }, { host: 'b', port: 6379 }],
      options: { password: 'secret', tls: {} },
    });
    assert.throws(() => load({ BROADCASTY_REDIS_URL: 'redis+cluster://a:0' }), /BROADCASTY_REDIS_URL: got "redis\+cluster:\/\/a:0"; bad cluster node address "a:0" \(host:port\)/);
  });

  it('reads several apps from a JSON file and names the file and field of a bad value', () => {
    const good = configFile(JSON.stringify({ port: 7100, apps: [{ id: 'a', key: 'ka', secret: 'sa' }, { id: 'b', key: 'kb', secret: 'sb', clientEvents: false }] }));
    const config = load({}, good);
    assert.equal(config.port, 7100);
    assert.deepEqual(config.apps.map((a) => [a.id, a.clientEvents]), [['a', true], ['b', false]]);

    const bad = configFile(JSON.stringify({ apps: [{ id: 'a', key: 'ka', secret: 'sa', maxConnections: 'lots' }] }));
    assert.throws(() => load({}, bad), (e: Error) => e.message.includes(`apps[0].maxConnections in ${bad}: got "lots"`));
  });

  it('names an unknown config-file key, and the line and column of a JSON syntax error', () => {
    const typo = configFile(JSON.stringify({ prot: 1, apps: [{ id: 'a', key: 'k', secret: 's', webhook: [] }] }));
    assert.throws(() => load({}, typo), (e: Error) => {
      assert.equal(
        e.message,
        `Unknown setting apps[0].webhook in ${typo}: not a Broadcasty setting (did you mean webhooks?)\nUnknown setting prot in ${typo}: not a Broadcasty setting (did you mean port?)`,
      );
      return true;
    });
    const broken = configFile('{\n  "port": 7000,\n  "apps": [\n    {"id": "a",}\n  ]\n}');
    assert.throws(() => load({}, broken), (e: Error) => e.message.startsWith(`Invalid setting --config: ${broken} is not valid JSON at line 4 column 16`));
    assert.throws(() => load({}, configFile('{"port": 7000')), /is not valid JSON at line 1 column 14/);
    assert.throws(() => load({}, configFile('[1]')), /must hold a JSON object .*got an array/);
  });

  it('names the TLS setting and the path of a certificate or key that cannot be read', () => {
    assert.throws(
      () => load({ BROADCASTY_TLS_CERT: '/nonexistent/cert.pem', BROADCASTY_TLS_KEY: '/nonexistent/key.pem' }),
      (e: Error) =>
        e.message ===
        'Invalid setting BROADCASTY_TLS_CERT: got "/nonexistent/cert.pem"; expected a readable PEM file (no such file)\n' +
          'Invalid setting BROADCASTY_TLS_KEY: got "/nonexistent/key.pem"; expected a readable PEM file (no such file)',
    );
    const file = configFile(JSON.stringify({ tlsCert: '/nonexistent/c.pem', tlsKey: '/nonexistent/k.pem' }));
    assert.throws(() => load({}, file), new RegExp(`Invalid setting tlsCert in ${file}: got "/nonexistent/c.pem"; expected a readable PEM file`));
  });

  it('builds the env app\'s history rule from BROADCASTY_HISTORY_* and the idempotency window from BROADCASTY_IDEMPOTENCY_WINDOW', () => {
    const config = load({
      PUSHER_APP_ID: '1',
      PUSHER_APP_KEY: 'k',
      PUSHER_APP_SECRET: 's',
      BROADCASTY_HISTORY_CHANNELS: 'private-orders.*, presence-*,,feed',
      BROADCASTY_HISTORY_MAX_EVENTS: '500',
      BROADCASTY_HISTORY_MAX_AGE: '600',
      BROADCASTY_HISTORY_MAX_BYTES: '2048',
      BROADCASTY_HISTORY_PARTITIONS: '4',
      BROADCASTY_IDEMPOTENCY_WINDOW: '60',
    });
    assert.deepEqual(config.apps[0].history, [{ channels: ['private-orders.*', 'presence-*', 'feed'], maxEvents: 500, maxAgeSeconds: 600, maxBytes: 2048, partitions: 4 }]);
    assert.equal(config.idempotencyWindowSeconds, 60);
    const defaults = load({ BROADCASTY_HISTORY_CHANNELS: 'orders' });
    assert.deepEqual(defaults.apps[0].history, [{ channels: ['orders'], maxEvents: 100, maxAgeSeconds: 3600, maxBytes: 1024 * 1024, partitions: 1 }]);
    assert.deepEqual(load({}).apps[0].history, []);
    assert.equal(load({}).idempotencyWindowSeconds, 300);
  });

  it('the env history rule overlays the configured app with the same id, replacing its rules', () => {
    const file = configFile(JSON.stringify({ apps: [{ id: '1', key: 'k', secret: 's', history: [{ channels: ['a'] }, { channels: ['b'] }] }] }));
    assert.deepEqual(load({}, file).apps[0].history.map((r) => r.channels), [['a'], ['b']]);
    assert.deepEqual(load({ PUSHER_APP_ID: '1', BROADCASTY_HISTORY_CHANNELS: 'c' }, file).apps[0].history.map((r) => r.channels), [['c']]);
  });

  it('names the history or idempotency setting, the value and what is allowed', () => {
    assert.throws(() => load({ BROADCASTY_HISTORY_CHANNELS: 'orders', BROADCASTY_HISTORY_MAX_EVENTS: 'many' }), /Invalid setting BROADCASTY_HISTORY_MAX_EVENTS: got "many"; expected an integer$/);
    assert.throws(() => load({ BROADCASTY_HISTORY_CHANNELS: 'orders', BROADCASTY_HISTORY_MAX_EVENTS: '0' }), /Invalid setting BROADCASTY_HISTORY_MAX_EVENTS: got 0; Number must be greater than or equal to 1$/);
    assert.throws(() => load({ BROADCASTY_HISTORY_CHANNELS: 'orders', BROADCASTY_HISTORY_MAX_AGE: '100000' }), /Invalid setting BROADCASTY_HISTORY_MAX_AGE: got 100000; Number must be less than or equal to 86400$/);
    assert.throws(() => load({ BROADCASTY_HISTORY_CHANNELS: 'orders', BROADCASTY_HISTORY_MAX_BYTES: '10' }), /Invalid setting BROADCASTY_HISTORY_MAX_BYTES: got 10; Number must be greater than or equal to 1024$/);
    assert.throws(() => load({ BROADCASTY_HISTORY_CHANNELS: 'orders', BROADCASTY_HISTORY_PARTITIONS: '65' }), /Invalid setting BROADCASTY_HISTORY_PARTITIONS: got 65; Number must be less than or equal to 64$/);
    assert.throws(() => load({ BROADCASTY_HISTORY_CHANNELS: ' , ' }), /Invalid setting BROADCASTY_HISTORY_CHANNELS: got \[\]; Array must contain at least 1 element\(s\)$/);
    assert.throws(() => load({ BROADCASTY_HISTORY_MAX_EVENTS: '10' }), /Invalid setting BROADCASTY_HISTORY_MAX_EVENTS: it refines BROADCASTY_HISTORY_CHANNELS, which is not set$/);
    assert.throws(() => load({ BROADCASTY_IDEMPOTENCY_WINDOW: '0' }), /Invalid setting BROADCASTY_IDEMPOTENCY_WINDOW: got 0; Number must be greater than or equal to 1$/);
    const file = configFile(JSON.stringify({ apps: [{ id: 'a', key: 'k', secret: 's', history: [{ channels: ['x'], partitions: 0 }] }] }));
    assert.throws(() => load({}, file), (e: Error) => e.message === `Invalid setting apps[0].history[0].partitions in ${file}: got 0; Number must be greater than or equal to 1`);
  });

  it('refuses more than one worker without Redis', () => {
    assert.throws(() => load({ BROADCASTY_WORKERS: '2' }), /BROADCASTY_WORKERS: got 2; more than 1 worker needs redisUrl/);
  });
});
