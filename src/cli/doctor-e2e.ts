// The end-to-end check of `broadcasty doctor`: a client connects with the app's key, subscribes a
// fresh public channel, the event is triggered through the HTTP API signed with the configured
// secret, and must arrive — what a Laravel app and its browsers do, in one go.
import { randomBytes } from 'node:crypto';
import { ErrorCode } from '../../protocol/errors.js';
import type { App } from '../apps/registry.js';
import type { CheckResult } from './doctor-checks.js';
import { openProbeSocket, socketAddress, SocketRefused } from './doctor-socket.js';
import { pusherRequest } from './http.js';

const CONNECT_TIMEOUT_MS = 10_000;
const DELIVERY_TIMEOUT_MS = 5_000;

class TimedOut extends Error {
  constructor(step: string, ms: number) {
    super(`no answer within ${ms / 1000} s: ${step}`);
  }
}

function within<T>(promise: Promise<T>, ms: number, step: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new TimedOut(step, ms)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** How to fix a refused connection, by Pusher close code (docs/PROTOCOL.md §1). */
const REFUSAL_FIXES: Record<number, (app: App) => string> = {
  [ErrorCode.UnknownApp]: (app) => `the key in your config (${app.key}) is not one of the server's apps: use the server's app key (BROADCASTY_APP_KEY)`,
  [ErrorCode.AppDisabled]: (app) => `app ${app.id} is disabled on the server: enable it`,
  [ErrorCode.OverQuota]: (app) => `app ${app.id} is at its maxConnections on the server: raise it (BROADCASTY_APP_MAX_CONNECTIONS)`,
};

/** `secretSetting`: where the operator set the app's secret, for the fix of a refused signature. */
export async function checkEndToEnd(baseUrl: string, app: App, secretSetting: string, preferPusherJs = true): Promise<CheckResult> {
  const name = 'end-to-end';
  const socket = await openProbeSocket(socketAddress(baseUrl), app.key, preferPusherJs);
  const channel = `broadcasty-doctor-${randomBytes(6).toString('hex')}`;
  const event = 'doctor-check';
  try {
    await within(socket.subscribe(channel), CONNECT_TIMEOUT_MS, `${socket.client} connecting and subscribing ${channel}`);
    // Listening before the trigger: the event may arrive before the HTTP answer does.
    const arrival = socket.received(event);
    arrival.catch(() => {});
    const reply = await pusherRequest(baseUrl, app, { method: 'POST', path: '/events', body: { name: event, channels: [channel], data: '{"doctor":true}' } });
    if (reply.status === 401) {
      return {
        name,
        status: 'FAIL',
        detail: `the server refused the signature: the secret in your config does not match the server's app ${app.id} (401 ${reply.body.trim()})`,
        fix: `set ${secretSetting} to the secret of the server's app ${app.id}`,
      };
    }
    if (reply.status !== 200) return { name, status: 'FAIL', detail: `POST /apps/${app.id}/events answered ${reply.status}: ${reply.body.trim()}` };
    await within(arrival, DELIVERY_TIMEOUT_MS, `${event} on ${channel}, triggered through the HTTP API, reaching ${socket.client}`);
    return { name, status: 'ok', detail: `${socket.client} connected with key ${app.key}, subscribed ${channel} and received the event triggered through the HTTP API` };
  } catch (error) {
    if (error instanceof TimedOut) return { name, status: 'FAIL', detail: error.message, fix: 'look at the server log; a proxy in front must pass WebSocket upgrades' };
    if (error instanceof SocketRefused) {
      const fix = error.code === undefined ? undefined : REFUSAL_FIXES[error.code]?.(app);
      return { name, status: 'FAIL', detail: `the server refused ${socket.client} (${error.code ?? 'subscription'} ${error.message})`, ...(fix === undefined ? {} : { fix }) };
    }
    throw error;
  } finally {
    socket.close();
  }
}
