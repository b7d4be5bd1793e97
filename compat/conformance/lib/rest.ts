// The few HTTP API calls the WebSocket cases need (trigger, terminate_connections), signed per
// docs/PROTOCOL.md §5.2. Own signer rather than the Node SDK because the SDK cannot put a server path
// prefix in front of /apps/{id} while signing the unprefixed path.
import type { Target } from '../types.js';
import { signedQuery } from './sign.js';

export interface RestReply {
  status: number;
  text: string;
}

export async function restRequest(target: Target, method: 'GET' | 'POST', path: string, body?: unknown): Promise<RestReply> {
  const signedPath = `/apps/${target.appId}${path}`;
  const text = body === undefined ? undefined : JSON.stringify(body);
  const query = signedQuery(target, method, signedPath, text);
  const url = `${target.tls ? 'https' : 'http'}://${target.host}:${target.port}${target.pathPrefix}${signedPath}?${query}`;
  const res = await fetch(url, { method, body: text, headers: text === undefined ? {} : { 'content-type': 'application/json' }, signal: AbortSignal.timeout(5000) });
  return { status: res.status, text: await res.text() };
}

export interface TriggerInput {
  name: string;
  /** Sent verbatim as the event's `data` string. */
  data: string;
  channels: string[];
  socket_id?: string;
}

/** POST /events; throws unless the server answers 200. */
export async function trigger(target: Target, event: TriggerInput): Promise<void> {
  const reply = await restRequest(target, 'POST', '/events', event);
  if (reply.status !== 200) throw new Error(`POST /events ${JSON.stringify(event).slice(0, 200)} → HTTP ${reply.status} ${reply.text.slice(0, 200)}`);
}
