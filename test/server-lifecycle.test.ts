// Starting, configuring and stopping the server as a user does: the CLI, env names, TLS,
// origin checks, health endpoints and the SIGTERM drain.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import PusherServer from 'pusher';
import { WebSocket } from 'ws';
import { RawClient, startTestServer } from './support/in-process.js';
import { freePort, runCli, untilListening } from './support/cli-process.js';
import { scratchDir } from './support/scratch.js';
import { WebhookReceiver } from './support/webhook-receiver.js';
import { ENV_TABLE } from '../src/config/env.js';
import { REVERB_DOTENV } from './support/laravel-env.js';

describe('the CLI', () => {
  it('starts on PUSHER_APP_* env, prints the URL, the Laravel .env lines and Echo options, and drains on SIGTERM', async () => {
    const port = await freePort();
    const cli = runCli(['start', '--host', '127.0.0.1'], { PUSHER_APP_ID: '42', PUSHER_APP_KEY: 'laravel-key', PUSHER_APP_SECRET: 'laravel-secret', PORT: String(port) });
    await untilListening(cli);
    const out = cli.stdout();
    assert.match(out, new RegExp(`Broadcasty listening on http://127\\.0\\.0\\.1:${port}`));
    for (const line of ['BROADCAST_CONNECTION=pusher', 'PUSHER_APP_ID=42', 'PUSHER_APP_KEY=laravel-key', `PUSHER_PORT=${port}`, 'PUSHER_SCHEME=http']) {
      assert.ok(out.includes(line), `missing ${line} in:\n${out}`);
    }
    assert.ok(!out.includes('laravel-secret'), 'a real secret must never be printed');
    assert.match(out, /enabledTransports: \['ws', 'wss'\]/);

    const client = await RawClient.connect(port, 'laravel-key');
    await client.established();
    assert.equal((await fetch(`http://127.0.0.1:${port}/ready`)).status, 200);
    cli.child.kill('SIGTERM');
    const error = await client.next((f) => f.event === 'pusher:error');
    assert.equal((error.data as { code: number }).code, 4200);
    assert.equal((await client.closed).code, 4200);
    assert.equal(await cli.exited, 0);
  });

  it('reads a Reverb .env from its working directory: listens on REVERB_SERVER_PORT, prints the Reverb lines, warns about REVERB_PORT', async () => {
    const dir = scratchDir('reverb-env');
    writeFileSync(join(dir, '.env'), REVERB_DOTENV);
    const port = await freePort();
    // The real environment wins over the file: a free port instead of 8080, which may be taken here.
    const cli = runCli(['start'], { REVERB_SERVER_HOST: '127.0.0.1', REVERB_SERVER_PORT: String(port) }, { cwd: dir });
    await untilListening(cli);
    const out = cli.stdout();
    assert.match(out, new RegExp(`Broadcasty listening on http://127\\.0\\.0\\.1:${port} \\(in-memory engine\\)`));
    for (const line of ['BROADCAST_CONNECTION=reverb', 'REVERB_APP_ID=646178', 'REVERB_APP_KEY=u8qzlfsbtfhsb4qxa6ep', `REVERB_PORT=${port}`, 'REVERB_SCHEME=http', 'VITE_REVERB_APP_KEY="${REVERB_APP_KEY}"', `Read ${join(dir, '.env')} (Reverb connection).`]) {
      assert.ok(out.includes(line), `missing ${line} in:\n${out}`);
    }
    assert.ok(!out.includes('PUSHER_') && !out.includes('qx2kcvtgbkutm3bukvhj'), 'no Pusher lines, no secret');
    assert.match(out, /REVERB_HOST=localhost and REVERB_PORT=8080, but Broadcasty listens on port \d+: Echo and Laravel will not reach it/);
    const client = await RawClient.connect(port, 'u8qzlfsbtfhsb4qxa6ep');
    assert.match(await client.established(), /^\d+\.\d+$/);
    cli.child.kill('SIGTERM');
    assert.equal((await client.closed).code, 4200);
    assert.equal(await cli.exited, 0);
  });

  it('keeps the webhooks of BROADCASTY_APPS when PUSHER_APP_* name the same app', async () => {
    const app = { id: '42', key: 'laravel-key', secret: 'laravel-secret' };
    const receiver = await WebhookReceiver.start([app]);
    const port = await freePort();
    const cli = runCli(['start', '--host', '127.0.0.1', '--port', String(port)], {
      PUSHER_APP_ID: app.id,
      PUSHER_APP_KEY: app.key,
      PUSHER_APP_SECRET: app.secret,
      BROADCASTY_APPS: JSON.stringify([{ ...app, webhooks: [{ url: receiver.url('/hook'), eventTypes: ['channel_occupied'] }] }]),
    });
    try {
      await untilListening(cli);
      const client = await RawClient.connect(port, app.key);
      await client.established();
      client.send({ event: 'pusher:subscribe', data: { channel: 'orders' } });
      await receiver.until('channel_occupied at /hook', () => receiver.delivered('/hook').length > 0);
      const [delivery] = receiver.delivered('/hook');
      assert.ok(delivery.valid);
      assert.deepEqual(delivery.events, [{ name: 'channel_occupied', channel: 'orders' }]);
      client.close();
    } finally {
      cli.child.kill('SIGTERM');
      await cli.exited;
      await receiver.close();
    }
  });

  it('--help lists the commands and every env name; --version prints the package version', async () => {
    const help = runCli(['--help']);
    assert.equal(await help.exited, 0);
    for (const name of ENV_TABLE.flatMap((s) => s.names)) assert.ok(help.stdout().includes(name), `--help misses ${name}`);
    assert.match(help.stdout(), /migrate/);
    const version = runCli(['--version']);
    assert.equal(await version.exited, 0);
    assert.equal(version.stdout().trim(), (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version);
  });

  it('names the TLS setting and path of a missing certificate instead of failing later', async () => {
    const cli = runCli(['start'], { BROADCASTY_TLS_CERT: '/nonexistent/cert.pem', BROADCASTY_TLS_KEY: '/nonexistent/key.pem' });
    assert.equal(await cli.exited, 2);
    assert.match(cli.stderr(), /Invalid setting BROADCASTY_TLS_CERT: got "\/nonexistent\/cert\.pem"; expected a readable PEM file \(no such file\)/);
  });

  it('SIGTERM during traffic: /ready turns 503 on both ports first, sockets get 4200 over the grace, then "stopped" and exit 0', async () => {
    const [port, metricsPort] = [await freePort(), await freePort()];
    const cli = runCli(['start', '--host', '127.0.0.1', '--port', String(port)], {
      BROADCASTY_SHUTDOWN_GRACE_MS: '4000',
      BROADCASTY_METRICS: 'true',
      BROADCASTY_METRICS_HOST: '127.0.0.1',
      BROADCASTY_METRICS_PORT: String(metricsPort),
      BROADCASTY_LOG_LEVEL: 'info',
    });
    await untilListening(cli);
    const clients = await Promise.all(Array.from({ length: 20 }, () => RawClient.connect(port)));
    await Promise.all(clients.map((c) => c.established()));
    for (const c of clients) c.send({ event: 'pusher:subscribe', data: { channel: 'ticker' } });
    await Promise.all(clients.map((c) => c.next((f) => f.event === 'pusher_internal:subscription_succeeded')));
    const open = new Set(clients);
    const codes = clients.map((c) => c.closed.then(({ code }) => (open.delete(c), code)));
    const sdk = new PusherServer({ appId: 'app-id', key: 'app-key', secret: 'app-secret', host: '127.0.0.1', port: String(port), useTLS: false });
    let publishing = true;
    const traffic = (async () => {
      for (let i = 0; publishing && i < 500; i++) await sdk.trigger('ticker', 'tick', { i }).catch(() => undefined);
    })();
    assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/ready`)).status, 200);

    cli.child.kill('SIGTERM');
    const statuses = async () => Promise.all([port, metricsPort].map((p) => fetch(`http://127.0.0.1:${p}/ready`).then((r) => r.status)));
    let seen: number[] = [];
    for (let i = 0; i < 200 && !(seen[0] === 503 && seen[1] === 503); i++) seen = await statuses();
    assert.deepEqual(seen, [503, 503]);
    assert.ok(open.size > 0, 'readiness flips before the last socket is closed');
    assert.deepEqual(await Promise.all(codes), clients.map(() => 4200));
    publishing = false;
    await traffic;
    assert.equal(await cli.exited, 0);
    const out = cli.stdout();
    assert.match(out, /"msg":"draining: \/ready answers 503, sockets close with 4200"/);
    assert.match(out, /"msg":"stopped"/);
    assert.doesNotMatch(out, /grace period ended/);
  });

  it('refuses a bad setting at start, naming the setting, the value and what is allowed', async () => {
    const cli = runCli(['start'], { BROADCASTY_PORT: 'sixty' });
    assert.equal(await cli.exited, 2);
    assert.match(cli.stderr(), /Invalid setting BROADCASTY_PORT: got "sixty"; expected an integer/);
    const missing = runCli(['start', '--config', '/nonexistent.json']);
    assert.equal(await missing.exited, 2);
    assert.match(missing.stderr(), /Invalid setting --config: cannot read \/nonexistent\.json/);
  });
});

describe('TLS', () => {
  it('serves wss and https with the configured certificate', async () => {
    const dir = scratchDir('tls');
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
    const server = await startTestServer({ tlsCert: cert, tlsKey: key });
    try {
      const ws = new WebSocket(`wss://127.0.0.1:${server.port}/app/app-key?protocol=7`, { rejectUnauthorized: false });
      const first = await new Promise<string>((resolve, reject) => {
        ws.once('message', (m) => resolve(m.toString()));
        ws.once('error', reject);
      });
      assert.match(first, /^\{"event":"pusher:connection_established"/);
      ws.close();
    } finally {
      await server.shutdown();
    }
  });
});

describe('capacity', () => {
  it('past maxSocketsPerProcess a new socket is refused with 4100 (retry after backoff), not left hanging', async () => {
    const server = await startTestServer({ maxSocketsPerProcess: 2 });
    try {
      const first = await RawClient.connect(server.port);
      const second = await RawClient.connect(server.port);
      await Promise.all([first.established(), second.established()]);
      const third = await RawClient.connect(server.port);
      const error = await third.next();
      assert.deepEqual(error, { event: 'pusher:error', data: { code: 4100, message: 'Over capacity' } });
      assert.equal((await third.closed).code, 4100);
      // The refusal must not leak a slot: once the others close, new sockets are accepted again.
      first.close();
      second.close();
      await Promise.all([first.closed, second.closed]);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const again = await Promise.all([RawClient.connect(server.port), RawClient.connect(server.port)]);
      for (const client of again) assert.match(await client.established(), /^\d+\.\d+$/);
      for (const client of again) client.close();
    } finally {
      await server.shutdown();
    }
  });
});

describe('origins and health', () => {
  it('refuses a socket from an origin outside allowedOrigins with 4009', async () => {
    const server = await startTestServer({ apps: [{ id: 'a', key: 'k', secret: 's', allowedOrigins: ['https://app.example.com', '*.trusted.test'] }] });
    try {
      const open = (origin: string) => {
        const ws = new WebSocket(`ws://127.0.0.1:${server.port}/app/k`, { origin });
        return new Promise<{ first: string; code?: number }>((resolve) => {
          ws.once('message', (m) => {
            const first = m.toString();
            if (first.includes('connection_established')) {
              ws.close();
              resolve({ first });
            } else ws.once('close', (code) => resolve({ first, code }));
          });
        });
      };
      assert.match((await open('https://app.example.com')).first, /connection_established/);
      assert.match((await open('https://eu.trusted.test')).first, /connection_established/);
      const refused = await open('https://evil.example');
      assert.equal(refused.first, '{"event":"pusher:error","data":{"code":4009,"message":"Origin not allowed"}}');
      assert.equal(refused.code, 4009);
    } finally {
      await server.shutdown();
    }
  });

  it('GET /up and /ready answer JSON; /ready is 503 while draining, on the metrics port too', async () => {
    const server = await startTestServer({ metrics: true, metricsHost: '127.0.0.1', metricsPort: 0 });
    const base = `http://127.0.0.1:${server.port}`;
    const metricsReady = `http://127.0.0.1:${server.metricsPort}/ready`;
    assert.deepEqual(await (await fetch(`${base}/up`)).json(), { health: 'OK' });
    assert.deepEqual(await (await fetch(`${base}/ready`)).json(), { ready: true });
    assert.deepEqual(await (await fetch(metricsReady)).json(), { ready: true });
    server.ctx.draining = true;
    for (const url of [`${base}/ready`, metricsReady]) {
      const ready = await fetch(url);
      assert.equal(ready.status, 503, url);
      assert.deepEqual(await ready.json(), { ready: false, draining: true });
    }
    server.ctx.draining = false;
    await server.shutdown();
  });
});
