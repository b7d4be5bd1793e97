// FCM HTTP v1 and Google's OAuth2 token endpoint over real HTTP, checking what they check. The
// token endpoint verifies the JWT assertion (RFC 7523) with the service account's public key —
// the fake makes the account, with a fresh RSA key, as the Firebase console would — and issues
// access tokens; messages:send wants one of them as a bearer token, the project in the path, and
// a v1 message of the documented shape (unknown fields, non-string data values and malformed
// durations are refused as FCM refuses them). Registration tokens are made here, like an app's
// getToken(); an unregistered one answers 404 UNREGISTERED, one never issued 400 INVALID_ARGUMENT.
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { jwtVerify, type JWTPayload } from 'jose';
import { Scripts, startFakeServer, type FakeReply, type FakeRequest, type FakeServer, type Script } from './http.js';

export const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export interface FcmReceived {
  /** The registration token the message named. */
  token: string;
  status: number;
  message: Record<string, unknown>;
  /** Why FCM refused it; undefined when every check passed. */
  refused?: string;
}

/** The fields of a v1 message and of its parts; FCM refuses any other name. */
const FIELDS: Record<string, Set<string>> = {
  message: new Set(['name', 'data', 'notification', 'android', 'webpush', 'apns', 'fcm_options', 'token', 'topic', 'condition']),
  'message.notification': new Set(['title', 'body', 'image']),
  'message.android': new Set(['collapse_key', 'priority', 'ttl', 'restricted_package_name', 'data', 'notification', 'fcm_options', 'direct_boot_ok']),
  'message.webpush': new Set(['headers', 'data', 'notification', 'fcm_options']),
  'message.webpush.fcm_options': new Set(['link', 'analytics_label']),
  'message.apns': new Set(['headers', 'payload', 'fcm_options']),
};
const STRING_MAPS = ['message.data', 'message.android.data', 'message.webpush.headers', 'message.webpush.data', 'message.apns.headers'];

class FcmRefusal extends Error {
  constructor(
    readonly status: number,
    readonly rpcStatus: string,
    message: string,
    readonly errorCode?: string,
    readonly field?: string,
  ) {
    super(message);
  }

  reply(): FakeReply {
    const details: object[] = [];
    if (this.errorCode !== undefined) details.push({ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: this.errorCode });
    if (this.field !== undefined) details.push({ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field: this.field, description: this.message }] });
    return { status: this.status, body: { error: { code: this.status, message: this.message, status: this.rpcStatus, ...(details.length > 0 ? { details } : {}) } } };
  }
}

const invalid = (field: string, message: string) => new FcmRefusal(400, 'INVALID_ARGUMENT', message, 'INVALID_ARGUMENT', field);
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export class FakeFcm {
  readonly projectId = 'broadcasty-fake';
  readonly clientEmail = 'push@broadcasty-fake.iam.gserviceaccount.com';
  readonly received: FcmReceived[] = [];
  /** Assertions the token endpoint accepted, with their claims. */
  readonly assertions: JWTPayload[] = [];
  private readonly accessTokens = new Map<string, number>();
  private readonly registrations = new Map<string, 'registered' | 'unregistered'>();
  private readonly scripts = new Scripts();
  private server!: FakeServer;
  private readonly publicKey: KeyObject;
  private readonly privateKeyPem: string;

  private constructor(private readonly expiresInSeconds: number) {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.publicKey = publicKey;
    this.privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  }

  /** `expiresInSeconds`: the access tokens' lifetime, as the token endpoint states it. */
  static async start(options: { expiresInSeconds?: number } = {}): Promise<FakeFcm> {
    const fcm = new FakeFcm(options.expiresInSeconds ?? 3600);
    fcm.server = await startFakeServer((request) => fcm.handle(request));
    return fcm;
  }

  get baseUrl(): string {
    return this.server.origin;
  }

  get tokenUri(): string {
    return `${this.server.origin}/token`;
  }

  /** The service-account JSON, as the Firebase console's "Generate new private key" downloads it. */
  serviceAccount(overrides: Record<string, unknown> = {}): string {
    return JSON.stringify({
      type: 'service_account',
      project_id: this.projectId,
      private_key_id: randomBytes(20).toString('hex'),
      private_key: this.privateKeyPem,
      client_email: this.clientEmail,
      client_id: '100000000000000000001',
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: this.tokenUri,
      ...overrides,
    });
  }

  /** A new registration token, as the client SDK's getToken() returns it. */
  register(): string {
    const token = `${randomBytes(11).toString('base64url')}:APA91b${randomBytes(100).toString('base64url')}`;
    this.registrations.set(token, 'registered');
    return token;
  }

  /** The app was uninstalled: FCM answers 404 UNREGISTERED from now on. */
  unregister(token: string): void {
    this.registrations.set(token, 'unregistered');
  }

  /** Access tokens issued so far stop working, as when Google revokes them: sends get 401. */
  revokeAccessTokens(): void {
    this.accessTokens.clear();
  }

  /** Overrides the answer to sends that passed the checks (429, 503 …). */
  script(token: string, script: Script): void {
    this.scripts.set(token, script);
  }

  delivered(token: string): FcmReceived[] {
    return this.received.filter((send) => send.token === token && send.refused === undefined);
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private async handle(request: FakeRequest): Promise<FakeReply> {
    if (request.method === 'POST' && request.url === '/token') return this.issueToken(request);
    if (request.method === 'POST' && request.url.startsWith('/v1/projects/')) return this.send(request);
    return { status: 404, body: 'Not Found' };
  }

  private async issueToken(request: FakeRequest): Promise<FakeReply> {
    const form = new URLSearchParams(request.body.toString('utf8'));
    const refuse = (description: string): FakeReply => ({ status: 400, body: { error: 'invalid_grant', error_description: description } });
    if (request.headers['content-type'] !== 'application/x-www-form-urlencoded') return { status: 400, body: { error: 'invalid_request', error_description: 'form body expected' } };
    if (form.get('grant_type') !== GRANT_TYPE) return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'Invalid grant_type' } };
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(form.get('assertion') ?? '', this.publicKey, {
        algorithms: ['RS256'],
        issuer: this.clientEmail,
        audience: this.tokenUri,
        requiredClaims: ['iat', 'exp', 'scope'],
      }));
    } catch (error) {
      return refuse(`Invalid JWT: ${(error as Error).message}`);
    }
    if (claims.exp! - claims.iat! > 3600) return refuse('Invalid JWT: Token must be a short-lived token (60 minutes)');
    if (!String(claims.scope).split(' ').includes(FCM_SCOPE)) return refuse('Invalid JWT: scope does not include firebase.messaging');
    this.assertions.push(claims);
    const accessToken = `ya29.${randomBytes(32).toString('base64url')}`;
    this.accessTokens.set(accessToken, Date.now() + this.expiresInSeconds * 1000);
    return { status: 200, body: { access_token: accessToken, expires_in: this.expiresInSeconds, token_type: 'Bearer' } };
  }

  private send(request: FakeRequest): FakeReply {
    // Refusals before the body is read (401, 403) are recorded too, with no token.
    const received: FcmReceived = { token: '', status: 200, message: {} };
    this.received.push(received);
    try {
      const bearer = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1];
      if (bearer === undefined || !((this.accessTokens.get(bearer) ?? 0) > Date.now())) {
        throw new FcmRefusal(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token.');
      }
      if (request.url !== `/v1/projects/${this.projectId}/messages:send`) throw new FcmRefusal(403, 'PERMISSION_DENIED', 'Permission denied on the project', 'SENDER_ID_MISMATCH');
      let body: unknown;
      try {
        body = JSON.parse(request.body.toString('utf8'));
      } catch {
        throw invalid('', 'Invalid JSON payload received.');
      }
      if (!isObject(body) || !isObject(body.message)) throw invalid('message', 'message is required');
      const message = (received.message = body.message);
      received.token = typeof message.token === 'string' ? message.token : '';
      checkMessage(message);
      const registration = this.registrations.get(received.token);
      if (registration === undefined) throw invalid('message.token', 'The registration token is not a valid FCM registration token');
      if (registration === 'unregistered') throw new FcmRefusal(404, 'NOT_FOUND', 'Requested entity was not found.', 'UNREGISTERED');
    } catch (error) {
      if (!(error instanceof FcmRefusal)) throw error;
      received.status = error.status;
      received.refused = error.message;
      return error.reply();
    }
    const scripted = this.scripts.next(received.token);
    if (scripted !== undefined) received.status = scripted.status;
    return scripted ?? { status: 200, body: { name: `projects/${this.projectId}/messages/${randomBytes(8).toString('hex')}` } };
  }
}

/** The checks of FCM's v1 schema that a sender can get wrong. */
function checkMessage(message: Record<string, unknown>): void {
  for (const [path, fields] of Object.entries(FIELDS)) {
    const part = path.split('.').slice(1).reduce<unknown>((at, key) => (isObject(at) ? at[key] : undefined), message);
    if (part === undefined) continue;
    if (!isObject(part)) throw invalid(path, `Invalid value at '${path}': expected an object`);
    for (const key of Object.keys(part)) {
      if (!fields.has(key)) throw invalid(`${path}.${key}`, `Invalid JSON payload received. Unknown name "${key}" at '${path}': Cannot find field.`);
    }
  }
  for (const path of STRING_MAPS) {
    const map = path.split('.').slice(1).reduce<unknown>((at, key) => (isObject(at) ? at[key] : undefined), message);
    if (map === undefined) continue;
    if (!isObject(map) || Object.values(map).some((value) => typeof value !== 'string')) throw invalid(path, `Invalid value at '${path}': values must be strings`);
  }
  if (['token', 'topic', 'condition'].filter((target) => message[target] !== undefined).length !== 1) throw invalid('message', 'Exactly one of token, topic or condition is required');
  const notification = message.notification as Record<string, unknown> | undefined;
  if (notification !== undefined && Object.values(notification).some((value) => typeof value !== 'string')) throw invalid('message.notification', 'notification fields must be strings');
  const android = message.android as Record<string, unknown> | undefined;
  if (android?.ttl !== undefined && !/^\d+(\.\d{1,9})?s$/.test(String(android.ttl))) throw invalid('message.android.ttl', 'Invalid value at message.android.ttl (Duration)');
  if (android?.priority !== undefined && !['normal', 'high', 'NORMAL', 'HIGH'].includes(String(android.priority))) throw invalid('message.android.priority', 'Invalid value at message.android.priority');
  const link = (message.webpush as { fcm_options?: { link?: unknown } } | undefined)?.fcm_options?.link;
  if (link !== undefined && !String(link).startsWith('https://')) throw invalid('message.webpush.fcm_options.link', 'Link must be a HTTPS URL');
}
