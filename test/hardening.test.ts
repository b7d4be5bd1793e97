// Regression tests for the attack run's findings (issue "Hardening"): each reproduces the attack
// and asserts what a client sees instead of a crash, a 500 or unbounded memory.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { signChannel, signRequest, signUser, SIGNING_DOC } from '../protocol/index.js';
import { loadConfig } from '../src/config/load.js';
import { startServer, type RunningServer, type ServerDeps } from '../src/server.js';
import { RawClient, startTestServer, type Frame } from './support/in-process.js';
import { RedisServer } from './support/redis.js';

let server: RunningServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.shutdown());

/** Sends raw bytes and resolves with everything the server answered before closing or going quiet. */
function rawExchange(port: number, request: string, quietMs = 300): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    let timer = setTimeout(() => socket.destroy(), quietMs * 4);
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
      clearTimeout(timer);
      timer = setTimeout(() => socket.destroy(), quietMs);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
    socket.on('error', reject);
    socket.write(request);
  });
}

const upgradeRequest = (path: string) =>
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
  `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;

describe('F1: malformed percent-escapes in the upgrade path', () => {
  for (const key of ['%', '%zz', '%C0%80', '%ED%A0%80', 'a%', '%2']) {
    it(`/app/${key} is refused with 4001 and the server keeps serving`, async () => {
      const answer = await rawExchange(server.port, upgradeRequest(`/app/${key}`));
      assert.match(answer, /^HTTP\/1\.1 101/);
      assert.match(answer, /"code\\?":4001/);
      const up = await fetch(`http://127.0.0.1:${server.port}/up`);
      assert.equal(up.status, 200);
      const client = await RawClient.connect(server.port);
      await client.established();
      client.close();
    });
  }
});

/** A server whose log lines (pino JSON) the test can read. */
async function serverWithLog(overrides: Record<string, unknown> = {}, deps: Omit<ServerDeps, 'log'> = {}) {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  const config = loadConfig({ env: {}, overrides: { host: '127.0.0.1', port: 0, logLevel: 'silent', ...overrides } });
  return { server: await startServer(config, { ...deps, log }), lines };
}

const isError = (f: Frame) => f.event === 'pusher:error';
const errorMessage = (f: Frame) => (f.data as { message: string }).message;
const signed = (method: string, path: string, body?: string, query?: Record<string, string>) =>
  signRequest({ method, path, key: 'app-key', secret: 'app-secret', body, query });

async function subscribed(client: RawClient, channel: string): Promise<Frame> {
  return client.next((f) => f.channel === channel && (f.event === 'pusher_internal:subscription_succeeded' || isError(f)));
}

describe('channel_data: null and other null optional fields are absent, as hosted Pusher treats them', () => {
  it('private and encrypted subscriptions whose auth endpoint answered "channel_data": null succeed', async () => {
    const client = await RawClient.connect(server.port);
    const socketId = await client.established();
    for (const channel of ['private-nulldata', 'private-encrypted-nulldata']) {
      client.send({ event: 'pusher:subscribe', data: { channel, auth: signChannel('app-key', 'app-secret', socketId, channel), channel_data: null } });
      assert.equal((await subscribed(client, channel)).event, 'pusher_internal:subscription_succeeded');
    }
    client.close();
  });

  it('frames with "channel": null and signin watchlist null are accepted', async () => {
    const client = await RawClient.connect(server.port);
    const socketId = await client.established();
    client.send({ event: 'pusher:ping', channel: null, data: {} });
    await client.next((f) => f.event === 'pusher:pong');
    const userData = JSON.stringify({ id: 'u1', watchlist: null });
    client.send({ event: 'pusher:signin', data: { auth: signUser('app-key', 'app-secret', socketId, userData), user_data: userData } });
    await client.next((f) => f.event === 'pusher:signin_success');
    client.close();
  });

  it('a validation error names the field that is wrong', async () => {
    const client = await RawClient.connect(server.port);
    await client.established();
    const cases: [unknown, RegExp][] = [
      [{ channel: 'private-x', auth: 42 }, /data\.auth must be a string, got number/],
      [{ channel: null }, /data\.channel must be a string, got null/],
      [{}, /data\.channel is required/],
      [{ channel: 'presence-x', auth: 'a:b', channel_data: {} }, /data\.channel_data must be a string, got object/],
      [null, /data must be an object, got null/],
    ];
    for (const [data, expected] of cases) {
      client.send({ event: 'pusher:subscribe', data });
      assert.match(errorMessage(await client.next(isError)), expected);
    }
    client.close();
  });

  it('HTTP bodies with "socket_id": null and "info": null publish; a bad channel element is named', async () => {
    const body = JSON.stringify({ name: 'e', data: '{}', channel: 'c', socket_id: null, info: null });
    const res = await fetch(`http://127.0.0.1:${server.port}/apps/app-id/events?${signed('POST', '/apps/app-id/events', body)}`, { method: 'POST', body });
    assert.equal(res.status, 200);
    const bad = JSON.stringify({ name: 'e', data: '{}', channels: ['c', null] });
    const refused = await fetch(`http://127.0.0.1:${server.port}/apps/app-id/events?${signed('POST', '/apps/app-id/events', bad)}`, { method: 'POST', body: bad });
    assert.equal(refused.status, 400);
    assert.equal(await refused.text(), 'Invalid "channels": element 1 must be a string, got null');
  });
});

describe('F5: unsigned and out-of-range HTTP requests', () => {
  for (const timestamp of ['1e20', '-9e12', '9e12', '1e400', 'NaN']) {
    it(`auth_timestamp=${timestamp} → 401 "Timestamp expired", not 500`, async () => {
      const query = `auth_key=app-key&auth_timestamp=${timestamp}&auth_version=1.0&auth_signature=00`;
      const res = await fetch(`http://127.0.0.1:${server.port}/apps/app-id/channels?${query}`);
      assert.equal(res.status, 401);
      assert.match(await res.text(), /^Timestamp expired: .*auth_timestamp/);
    });
  }

  it('an unsigned request is told which parameter is missing and where signing is documented', async () => {
    const res = await fetch(`http://127.0.0.1:${server.port}/apps/app-id/channels`);
    assert.equal(res.status, 401);
    const body = await res.text();
    assert.match(body, /^Version required: .*auth_version/);
    assert.ok(body.includes(SIGNING_DOC), body);
  });

  it('a failure inside the server answers 500 and logs the request line without the signature', async () => {
    const failing = { findByKey: async () => undefined, findById: async (): Promise<undefined> => Promise.reject(new Error('registry down')) };
    const { server: broken, lines } = await serverWithLog({}, { registry: failing });
    try {
      const path = '/apps/app-id/events';
      const res = await fetch(`http://127.0.0.1:${broken.port}${path}?${signed('POST', path, '{}')}`, { method: 'POST', body: '{}' });
      assert.equal(res.status, 500);
      const logged = lines.filter((l) => l.level === 50);
      assert.equal(logged.length, 1);
      assert.equal(logged[0].request, `POST ${path}`);
      assert.ok(!JSON.stringify(logged[0]).includes('auth_signature'));
    } finally {
      await broken.shutdown();
    }
  });
});

describe('F6: deeply nested JSON from clients', () => {
  const deep = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);

  it('a signed publish whose data object is 100,000 levels deep → 400; a deep data string is opaque and published', async () => {
    const path = '/apps/app-id/events';
    const post = (body: string) => fetch(`http://127.0.0.1:${server.port}${path}?${signed('POST', path, body)}`, { method: 'POST', body });
    const tooDeep = await post(`{"name":"e","channel":"c","data":${deep(100_000)}}`);
    assert.equal(tooDeep.status, 400);
    assert.match(await tooDeep.text(), /deeper than \d+ levels/);
    assert.equal((await post(JSON.stringify({ name: 'e', channel: 'c', data: deep(4000) }))).status, 200);
  });

  it('a client event, channel_data and user_data 50,000 levels deep get an in-band error and log nothing', async () => {
    const { server: logged, lines } = await serverWithLog({ maxMessageBytes: 1024 * 1024 });
    try {
      const client = await RawClient.connect(logged.port);
      const socketId = await client.established();
      client.send({ event: 'pusher:subscribe', data: { channel: 'private-deep', auth: signChannel('app-key', 'app-secret', socketId, 'private-deep') } });
      await client.next((f) => f.event === 'pusher_internal:subscription_succeeded');
      client.send(`{"event":"client-deep","channel":"private-deep","data":${deep(50_000)}}`);
      assert.match(errorMessage(await client.next(isError)), /deeper than \d+ levels/);

      const channelData = `{"user_id":"u","user_info":${deep(50_000)}}`;
      const auth = signChannel('app-key', 'app-secret', socketId, 'presence-deep', channelData);
      client.send({ event: 'pusher:subscribe', data: { channel: 'presence-deep', auth, channel_data: channelData } });
      assert.match(errorMessage(await client.next(isError)), /channel_data nests deeper than \d+ levels/);

      const userData = `{"id":"u","user_info":${deep(50_000)}}`;
      client.send({ event: 'pusher:signin', data: { auth: signUser('app-key', 'app-secret', socketId, userData), user_data: userData } });
      assert.match(errorMessage(await client.next(isError)), /user_data nests deeper than \d+ levels/);

      client.send({ event: 'pusher:ping', data: {} });
      await client.next((f) => f.event === 'pusher:pong');
      assert.deepEqual(lines.filter((l) => (l.level as number) >= 50), []);
      client.close();
    } finally {
      await logged.shutdown();
    }
  });
});

describe('F7: presence member ids', () => {
  async function join(port: number, channel: string, channelData: string): Promise<{ client: RawClient; joined: Frame }> {
    const client = await RawClient.connect(port);
    const socketId = await client.established();
    const auth = signChannel('app-key', 'app-secret', socketId, channel, channelData);
    client.send({ event: 'pusher:subscribe', data: { channel, auth, channel_data: channelData } });
    return { client, joined: await subscribed(client, channel) };
  }

  async function protoMemberIsListed(port: number): Promise<void> {
    const first = await join(port, 'presence-proto', '{"user_id":"__proto__","user_info":{"name":"p"}}');
    const second = await join(port, 'presence-proto', '{"user_id":"u2"}');
    const roster = (JSON.parse(second.joined.data as string) as { presence: { ids: string[]; hash: Record<string, unknown>; count: number } }).presence;
    assert.deepEqual([...roster.ids].sort(), ['__proto__', 'u2']);
    assert.deepEqual(Object.keys(roster.hash).sort(), ['__proto__', 'u2']);
    assert.deepEqual(Object.getOwnPropertyDescriptor(roster.hash, '__proto__')?.value, { name: 'p' });
    const added = await first.client.next((f) => f.event === 'pusher_internal:member_added');
    assert.equal((JSON.parse(added.data as string) as { user_id: string }).user_id, 'u2');
    first.client.close();
    second.client.close();
  }

  it('user_id "__proto__" is in the roster (memory engine)', () => protoMemberIsListed(server.port));

  it('user_id "__proto__" is in the roster (Redis engine)', async () => {
    const redis = await RedisServer.start();
    const clustered = await startTestServer({ redisUrl: redis.url });
    try {
      await protoMemberIsListed(clustered.port);
    } finally {
      await clustered.shutdown();
      await redis.stop();
    }
  });

  it('a user signed in as "__proto__" is found by terminate_connections', async () => {
    const client = await RawClient.connect(server.port);
    const socketId = await client.established();
    const userData = '{"id":"__proto__"}';
    client.send({ event: 'pusher:signin', data: { auth: signUser('app-key', 'app-secret', socketId, userData), user_data: userData } });
    await client.next((f) => f.event === 'pusher:signin_success');
    const path = '/apps/app-id/users/__proto__/terminate_connections';
    const res = await fetch(`http://127.0.0.1:${server.port}${path}?${signed('POST', path, '{}')}`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 200);
    assert.equal((await client.closed).code, 4009);
  });

  it('a channel named "__proto__" is listed by GET /channels and in the trigger info', async () => {
    const client = await RawClient.connect(server.port);
    await client.established();
    client.send({ event: 'pusher:subscribe', data: { channel: '__proto__' } });
    await subscribed(client, '__proto__');
    const query = signed('GET', '/apps/app-id/channels', undefined, { filter_by_prefix: '__proto' });
    const list = await fetch(`http://127.0.0.1:${server.port}/apps/app-id/channels?${query}`);
    assert.deepEqual(Object.keys((JSON.parse(await list.text()) as { channels: object }).channels), ['__proto__']);
    const body = JSON.stringify({ name: 'e', data: '{}', channel: '__proto__', info: 'subscription_count' });
    const res = await fetch(`http://127.0.0.1:${server.port}/apps/app-id/events?${signed('POST', '/apps/app-id/events', body)}`, { method: 'POST', body });
    assert.equal(await res.text(), '{"channels":{"__proto__":{"subscription_count":1}}}');
    client.close();
  });

  for (const [label, userId, expected] of [
    ['1e400 (Infinity)', '1e400', /channel_data\.user_id must be a finite number/],
    ['an empty string', '""', /channel_data\.user_id must be a non-empty string/],
    ['an object', '{}', /channel_data\.user_id must be a string or a number, got object/],
  ] as const) {
    it(`user_id ${label} is refused naming channel_data.user_id`, async () => {
      const { client, joined } = await join(server.port, 'presence-odd', `{"user_id":${userId}}`);
      assert.equal(joined.event, 'pusher:error');
      assert.match(errorMessage(joined), expected);
      client.close();
    });
  }
});
