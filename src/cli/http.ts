// The two ways a command talks to a server: the Pusher HTTP API signed with the app's key and
// secret (docs/PROTOCOL.md §5.2, as the PHP SDK signs it) and the admin API with a bearer token
// (§17.1). Either way: a refusal is printed with its status and body, no answer is exit 3.
import { signRequest } from '../../protocol/index.js';
import type { App } from '../apps/registry.js';
import { FailedError, UnreachableError } from './command.js';

const REQUEST_TIMEOUT_MS = 10_000;

interface Reply {
  status: number;
  body: string;
}

/** fetch, with "nothing answered" as UnreachableError naming the URL and the likely fix. */
export async function send(url: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS), ...init });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code ?? cause?.message ?? (error as Error).message;
    throw new UnreachableError(`cannot reach the server at ${new URL(url).origin} (${reason}): is broadcasty running there? (--url sets where to look)`);
  }
}

export async function read(response: Response): Promise<Reply> {
  return { status: response.status, body: await response.text() };
}

/** The reply's JSON when it is a 200, else FailedError with status and body. */
function expectJson(reply: Reply): unknown {
  if (reply.status !== 200) throw new FailedError(`the server answered ${reply.status}: ${reply.body.trim()}`);
  return JSON.parse(reply.body) as unknown;
}

interface PusherRequest {
  method: 'GET' | 'POST';
  /** After /apps/{id}, e.g. `/events`. */
  path: string;
  query?: Record<string, string>;
  body?: unknown;
}

/** One signed request of the Pusher HTTP API, answered as it came. */
export async function pusherRequest(baseUrl: string, app: App, request: PusherRequest): Promise<Reply> {
  const path = `/apps/${encodeURIComponent(app.id)}${request.path}`;
  const body = request.body === undefined ? undefined : JSON.stringify(request.body);
  const query = signRequest({ method: request.method, path, key: app.key, secret: app.secret, body, query: request.query });
  const response = await send(`${baseUrl}${path}?${query}`, {
    method: request.method,
    body,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
  });
  return read(response);
}

export const pusherApi = async (baseUrl: string, app: App, request: PusherRequest): Promise<unknown> => expectJson(await pusherRequest(baseUrl, app, request));

interface AdminTarget {
  baseUrl: string;
  /** undefined: no Authorization header (a server without adminToken answers loopback). */
  token: string | undefined;
}

export function adminHeaders(target: AdminTarget): Record<string, string> {
  return target.token === undefined ? {} : { authorization: `Bearer ${target.token}` };
}

/** GET or POST under {base}/admin, JSON either way. */
export async function adminApi(target: AdminTarget, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  const response = await send(`${target.baseUrl}/admin${path}`, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: { ...adminHeaders(target), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
  });
  return expectJson(await read(response));
}
