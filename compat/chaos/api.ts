// Signed HTTP API requests (docs/PROTOCOL.md §5.2) for the phases that publish: the signer is the
// conformance suite's, written from the spec rather than taken from src/.
import { Agent, request } from 'node:http';
import { hmacHex, md5Hex, stringToSign } from '../conformance/lib/http-client.js';
import type { ChaosTarget } from './runner.js';

/** `/apps/{id}{path}?…&auth_signature=…`; `over` replaces signed params, `signature` the signature. */
export function signedPath(t: ChaosTarget, method: string, path: string, body: string | undefined, over: Record<string, string> = {}, signature?: string): string {
  const full = `/apps/${t.appId}${path}`;
  const params: Record<string, string> = { auth_key: t.key, auth_timestamp: String(Math.floor(Date.now() / 1000)), auth_version: '1.0' };
  if (body) params.body_md5 = md5Hex(body);
  Object.assign(params, over);
  const sig = signature ?? hmacHex(t.secret, stringToSign(method, full, params));
  const query = Object.entries({ ...params, auth_signature: sig }).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
  return `${full}?${query}`;
}

export interface Reply {
  /** HTTP status; 0 = no answer within the timeout, -1 = connection error. */
  status: number;
  body: string;
}

/** One request; never rejects (a failure is a status the caller judges). */
export function call(host: string, port: number, method: string, path: string, opts: { agent?: Agent; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {}): Promise<Reply> {
  return new Promise((resolve) => {
    const headers = opts.body === undefined ? (opts.headers ?? {}) : { 'Content-Type': 'application/json', ...opts.headers, 'Content-Length': String(Buffer.byteLength(opts.body)) };
    const req = request({ host, port, method, path, headers, agent: opts.agent }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        if (body.length < 2000) body += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ status: -1, body: '' }));
    });
    req.setTimeout(opts.timeoutMs ?? 10_000, () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ status: err.message === 'timeout' ? 0 : -1, body: '' }));
    req.end(opts.body);
  });
}

/** POST /batch_events on one node. */
export function publishBatch(t: ChaosTarget, port: number, events: { channel: string; name: string; data: string }[], agent?: Agent, timeoutMs?: number): Promise<Reply> {
  const body = JSON.stringify({ batch: events });
  return call(t.host, port, 'POST', signedPath(t, 'POST', '/batch_events', body), { agent, body, timeoutMs });
}

/** POST /events on one node. */
export function publishEvent(t: ChaosTarget, port: number, channel: string, name: string, data: string, agent?: Agent, timeoutMs?: number): Promise<Reply> {
  const body = JSON.stringify({ name, channel, data });
  return call(t.host, port, 'POST', signedPath(t, 'POST', '/events', body), { agent, body, timeoutMs });
}
