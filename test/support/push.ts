// Shared by the push tests: signed requests to the push endpoints of the Pusher-style API
// (docs/PROTOCOL.md §16.2, §16.3).
import { signRequest } from '../../protocol/index.js';

export interface SignedReply {
  status: number;
  body: Record<string, unknown>;
}

export interface SignedApp {
  id: string;
  key: string;
  secret: string;
}

/** A request signed as §5.2 says (DELETE signs the method DELETE). */
export async function signed(port: number, app: SignedApp, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<SignedReply> {
  const fullPath = `/apps/${app.id}/${path}`;
  const text = body === undefined ? undefined : JSON.stringify(body);
  const query = signRequest({ method, path: fullPath, key: app.key, secret: app.secret, body: text });
  const response = await fetch(`http://127.0.0.1:${port}${fullPath}?${query}`, { method, body: text, headers: { 'content-type': 'application/json' } });
  const raw = await response.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = raw === '' ? {} : (JSON.parse(raw) as Record<string, unknown>);
  } catch {
    parsed = { error: raw };
  }
  return { status: response.status, body: parsed };
}
