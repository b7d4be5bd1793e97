// The admin API over fetch with the bearer token, on the same origin as the page. Its base path
// (the server's pathPrefix + `/admin`) is in the page's <meta name="broadcasty-admin">, which the
// server fills in when it serves index.html.

const TOKEN_KEY = 'broadcasty.adminToken';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const adminBase = (): string => document.querySelector<HTMLMetaElement>('meta[name="broadcasty-admin"]')?.content ?? '/admin';

export class AdminApi {
  readonly base = adminBase();
  private token = sessionStorage.getItem(TOKEN_KEY) ?? '';

  get hasToken(): boolean {
    return this.token !== '';
  }

  setToken(token: string): void {
    this.token = token;
    if (token === '') sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token);
  }

  headers(): Record<string, string> {
    return this.token === '' ? {} : { authorization: `Bearer ${this.token}` };
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  /** A streaming GET (the tap): the caller reads the body. */
  async stream(path: string, signal: AbortSignal): Promise<Response> {
    const response = await fetch(this.base + path, { headers: { ...this.headers(), accept: 'text/event-stream' }, signal, cache: 'no-store' });
    if (!response.ok) throw new ApiError(response.status, await errorText(response));
    return response;
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { ...this.headers(), accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(this.base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
    if (!response.ok) throw new ApiError(response.status, await errorText(response));
    return (await response.json()) as T;
  }
}

async function errorText(response: Response): Promise<string> {
  const text = await response.text();
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === 'string') return parsed.error;
  } catch {
    // Not JSON: the text itself is the message.
  }
  return text === '' ? `HTTP ${response.status}` : text;
}

export const appPath = (appId: string, rest = ''): string => `/apps/${encodeURIComponent(appId)}${rest}`;
export const channelPath = (appId: string, channel: string, rest = ''): string => appPath(appId, `/channels/${encodeURIComponent(channel)}${rest}`);
