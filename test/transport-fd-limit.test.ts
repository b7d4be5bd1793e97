// A server at its open-file limit (ulimit -n 256) held by idle TCP connections: it must keep
// answering, with 503 or a refused connection, instead of spinning at EMFILE while new
// connections time out, and serve again once the connections go.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { loadNativeUws } from '../src/transport/load-uws.js';
import { freePort } from './support/cli-process.js';

const FD_LIMIT = 256;
const IDLE_CONNECTIONS = 260;

/** `GET /up`: the status, 'refused' (listen socket closed), or 'timeout' (the bug). */
async function probe(port: number): Promise<number | 'refused' | 'timeout'> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('timeout');
    }, 5000);
    let reply = '';
    socket.on('connect', () => socket.write('GET /up HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      const status = /^HTTP\/1\.1 (\d{3})/.exec(reply);
      if (status === null) return;
      clearTimeout(timer);
      socket.destroy();
      resolve(Number(status[1]));
    });
    socket.on('error', () => {
      clearTimeout(timer);
      resolve('refused');
    });
  });
}

const transports = ['node', ...('uws' in loadNativeUws() ? ['uws'] : [])];

for (const transport of transports) {
  test(`transport ${transport}: idle connections up to the fd limit do not make the server unreachable`, async () => {
    const port = await freePort();
    const child = spawn('bash', ['-c', `ulimit -n ${FD_LIMIT}; exec "${process.execPath}" --import tsx src/cli.ts start --port ${port} --host 127.0.0.1`], {
      cwd: new URL('..', import.meta.url).pathname,
      env: { PATH: process.env.PATH, BROADCASTY_TRANSPORT: transport, BROADCASTY_FD_RESERVE: '64', BROADCASTY_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    const idle: Socket[] = [];
    try {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      for (let i = 0; i < 300 && !out.includes('listening'); i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(await probe(port), 200);

      for (let i = 0; i < IDLE_CONNECTIONS; i++) {
        const socket = connect(port, '127.0.0.1');
        socket.on('error', () => {});
        idle.push(socket);
      }
      // Past the next once-a-second fd sample of the server.
      await new Promise((r) => setTimeout(r, 2500));
      const whileFull = await probe(port);
      assert.ok(whileFull === 503 || whileFull === 'refused', `GET /up at the fd limit: ${whileFull}`);

      for (const socket of idle) socket.destroy();
      let after: number | string = 'none';
      for (let i = 0; i < 20 && after !== 200; i++) {
        await new Promise((r) => setTimeout(r, 500));
        after = await probe(port);
      }
      assert.equal(after, 200, 'serving again once the connections closed');
    } finally {
      for (const socket of idle) socket.destroy();
      child.kill('SIGKILL');
      await exited;
    }
  });
}
