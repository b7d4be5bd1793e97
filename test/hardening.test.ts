// Regression tests for the attack run's findings (issue "Hardening"): each reproduces the attack
// and asserts what a client sees instead of a crash, a 500 or unbounded memory.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { RunningServer } from '../src/server.js';
import { RawClient, startTestServer } from './support/in-process.js';

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
