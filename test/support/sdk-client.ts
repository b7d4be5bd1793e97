// The Broadcasty client SDK (client/sdk) as a Node app uses it: the `ws` package's WebSocket on
// Node 20, a recorder of every message and error each subscription gets.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { WebSocket } from 'ws';
import { BroadcastyClient, type BroadcastyClientOptions, type BroadcastyError, type Message, type StreamPosition, type Subscription, type WebSocketConstructor } from '../../client/sdk/index.js';

import { serveSite, type Site } from './chromium.js';

export const NodeWebSocket = WebSocket as unknown as WebSocketConstructor;

export function sdkClient(port: number, options: Partial<BroadcastyClientOptions> & { appKey: string }): BroadcastyClient {
  return new BroadcastyClient({ url: `http://127.0.0.1:${port}`, WebSocket: NodeWebSocket, offline: { store: 'memory' }, reconnect: { minDelayMs: 50, maxDelayMs: 500 }, ...options });
}

export interface Recorded<T = unknown> {
  subscription: Subscription;
  messages: Message<T>[];
  errors: (BroadcastyError & { position?: StreamPosition })[];
}

export function record<T = unknown>(client: BroadcastyClient, channel: string, fromSequence?: number | StreamPosition): Recorded<T> {
  const messages: Message<T>[] = [];
  const errors: Recorded['errors'] = [];
  const subscription = client.subscribe<T>({ channel, fromSequence, onMessage: (message) => void messages.push(message), onError: (error) => void errors.push(error) });
  return { subscription, messages, errors };
}

/** Resolves once the client's connection is up. */
export function connected(client: BroadcastyClient, timeoutMs = 15_000): Promise<void> {
  if (client.state === 'connected') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`client not connected within ${timeoutMs} ms (state ${client.state})`)), timeoutMs);
    const off = client.on('state', (state) => {
      if (state !== 'connected') return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

/** The SDK's browser file, built now by scripts/build-client.mjs, beside a test page on a site of its own origin. */
export function serveSdkPage(page: string): Promise<Site> {
  const repo = new URL('../..', import.meta.url).pathname;
  execFileSync(process.execPath, [`${repo}scripts/build-client.mjs`], { stdio: 'inherit' });
  return serveSite({ '/': page, '/broadcasty.js': readFileSync(`${repo}dist/browser/broadcasty.js`, 'utf8') });
}
