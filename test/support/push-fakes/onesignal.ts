// A fake OneSignal REST API over real HTTP: checks each POST /notifications the way OneSignal
// does (the `Authorization: Key` header, the app id, a push to subscription ids with English
// contents) and answers as OneSignal does — 200 with `errors` naming the ids that are not
// subscribed. Tests script other answers (429, 5xx) with answerNext().
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

export interface OneSignalRequest {
  path: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body; undefined when it did not parse. */
  body: Record<string, unknown> | undefined;
  status: number;
  /** OneSignal's `errors` of the answer, when it had some. */
  errors?: unknown;
  /** The subscriptions this request reached. */
  reached: string[];
}

export interface OneSignalAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export class FakeOneSignal {
  readonly requests: OneSignalRequest[] = [];
  private readonly subscribed = new Set<string>();
  private readonly scripted: OneSignalAnswer[] = [];

  private constructor(
    private readonly server: Server,
    readonly appId: string,
    readonly restApiKey: string,
    readonly baseUrl: string,
  ) {}

  static async start(appId: string, restApiKey: string): Promise<FakeOneSignal> {
    let fake: FakeOneSignal | undefined;
    const server = createServer((req, res) => {
      let raw = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (raw += chunk));
      req.on('end', () => {
        const answer = fake!.handle(req.method ?? '', req.url ?? '/', req.headers, raw);
        res.writeHead(answer.status, { 'Content-Type': 'application/json; charset=utf-8', ...answer.headers }).end(JSON.stringify(answer.body ?? {}));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    fake = new FakeOneSignal(server, appId, restApiKey, `http://127.0.0.1:${port}`);
    return fake;
  }

  /** A subscription that receives push from now on. */
  subscribe(subscriptionId: string): void {
    this.subscribed.add(subscriptionId);
  }

  /** The next well-formed requests get these answers instead of OneSignal's own, in order. */
  answerNext(...answers: OneSignalAnswer[]): void {
    this.scripted.push(...answers);
  }

  /** The notifications a subscription received, as their bodies. */
  deliveredTo(subscriptionId: string): Record<string, unknown>[] {
    return this.requests.filter((r) => r.reached.includes(subscriptionId)).map((r) => r.body!);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private handle(method: string, path: string, headers: IncomingHttpHeaders, raw: string): OneSignalAnswer {
    let body: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = JSON.parse(raw);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
    } catch {
      // refused below
    }
    const answer = this.answer(method, path, headers, body);
    const { id, errors } = (answer.body ?? {}) as { id?: unknown; errors?: unknown };
    const reached = answer.status === 200 && typeof id === 'string' && id !== '' ? (body!.include_subscription_ids as string[]).filter((s) => this.subscribed.has(s)) : [];
    this.requests.push({ path, headers, body, status: answer.status, reached, ...(errors === undefined ? {} : { errors }) });
    return answer;
  }

  private answer(method: string, path: string, headers: IncomingHttpHeaders, body: Record<string, unknown> | undefined): OneSignalAnswer {
    const refuse = (status: number, error: string): OneSignalAnswer => ({ status, body: { errors: [error] } });
    if (method !== 'POST' || new URL(path, 'http://x').pathname !== '/notifications') return refuse(404, 'Not found');
    if (headers.authorization !== `Key ${this.restApiKey}`) return refuse(403, 'Access denied: include an Authorization: Key header with a valid API key');
    if (!String(headers['content-type']).startsWith('application/json') || body === undefined) return refuse(400, 'Invalid JSON body');
    if (body.app_id !== this.appId) return refuse(400, 'app_id not found');
    const ids = body.include_subscription_ids;
    if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => typeof id === 'string')) return refuse(400, 'include_subscription_ids must be a non-empty array of ids');
    if (body.target_channel !== undefined && body.target_channel !== 'push') return refuse(400, 'target_channel must be push, email or sms');
    const english = (field: string) => typeof (body[field] as { en?: unknown } | undefined)?.en === 'string';
    if (!english('contents') && body.content_available !== true) return refuse(400, 'Message Notifications must have English language content');
    if (body.headings !== undefined && !english('headings')) return refuse(400, 'Notification headings must have English language content');
    if (body.ttl !== undefined && !(Number.isInteger(body.ttl) && (body.ttl as number) >= 0 && (body.ttl as number) <= 2_419_200)) return refuse(400, 'ttl must be an integer of seconds up to 28 days');
    if (body.url !== undefined && !/^https?:\/\//.test(String(body.url))) return refuse(400, 'url must be an http(s) URL');
    const scripted = this.scripted.shift();
    if (scripted !== undefined) return scripted;
    const unsubscribed = (ids as string[]).filter((id) => !this.subscribed.has(id));
    if (unsubscribed.length === ids.length) return { status: 200, body: { id: '', errors: ['All included players are not subscribed'] } };
    const id = crypto.randomUUID();
    return { status: 200, body: unsubscribed.length === 0 ? { id, external_id: null } : { id, external_id: null, errors: { invalid_player_ids: unsubscribed } } };
  }
}
