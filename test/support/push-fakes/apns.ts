// A fake APNs over HTTP/2 with TLS (a self-signed certificate made with openssl): checks each
// POST /3/device/{token} as APNs does — the ES256 provider token against the .p8 key's public
// half (kid, iss, an iat under an hour old, renewed at most every 20 minutes per connection), the
// apns-* headers and the JSON payload — and answers with APNs's statuses and reasons. Tokens it
// was not told about are BadDeviceToken; unregistered ones 410.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureServer, type Http2SecureServer, type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { join } from 'node:path';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { scratchDir } from '../scratch.js';

export interface TlsPair {
  cert: string;
  key: string;
}

/** A certificate for 127.0.0.1 and localhost, its own CA: pass `cert` as the client's `ca`. */
export function selfSignedCertificate(): TlsPair {
  const dir = scratchDir('tls');
  const [certFile, keyFile] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-keyout', keyFile, '-out', certFile, '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ], { stdio: 'ignore' });
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}

/** A token-signing key as Apple hands it out: an EC P-256 key in a PKCS#8 PEM (.p8). */
export function apnsSigningKey(): { p8: string; publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { p8: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, publicKey };
}

export interface ApnsRequest {
  deviceToken: string;
  headers: IncomingHttpHeaders;
  /** The bearer token as sent. */
  jwt: string;
  payload: Record<string, unknown> | undefined;
  status: number;
  reason?: string;
  /** Which connection it came on, from 1. */
  session: number;
}

export interface ApnsAnswer {
  status: number;
  reason?: string;
}

export interface FakeApnsSettings {
  tls: TlsPair;
  keyId: string;
  teamId: string;
  publicKey: KeyObject;
  topic: string;
}

const PUSH_TYPES = new Set(['alert', 'background', 'location', 'voip', 'complication', 'fileprovider', 'mdm', 'liveactivity', 'pushtotalk']);
const MAX_PAYLOAD_BYTES = 4096;

export class FakeApns {
  readonly requests: ApnsRequest[] = [];
  /** Connections accepted so far. */
  sessions = 0;
  private readonly registered = new Set<string>();
  private readonly unregistered = new Set<string>();
  private readonly scripted: ApnsAnswer[] = [];
  private readonly open = new Set<Http2Session>();
  /** The iat of the token each connection used last. */
  private readonly tokenIat = new WeakMap<Http2Session, number>();
  private readonly sessionNumber = new WeakMap<Http2Session, number>();

  private constructor(
    private readonly server: Http2SecureServer,
    private readonly settings: FakeApnsSettings,
    readonly url: string,
  ) {}

  static async start(settings: FakeApnsSettings): Promise<FakeApns> {
    const server = createSecureServer({ cert: settings.tls.cert, key: settings.tls.key });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const fake = new FakeApns(server, settings, `https://127.0.0.1:${(server.address() as { port: number }).port}`);
    server.on('session', (session) => {
      fake.sessionNumber.set(session, ++fake.sessions);
      fake.open.add(session);
      session.on('close', () => fake.open.delete(session));
    });
    server.on('stream', (stream, headers) => {
      let raw = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => (raw += chunk));
      stream.on('end', () => void fake.handle(stream, headers, raw));
    });
    return fake;
  }

  /** A device token this app's devices hold (hex). */
  register(deviceToken: string): void {
    this.registered.add(deviceToken);
  }

  /** The app was uninstalled: APNs answers 410 Unregistered from now on. */
  unregister(deviceToken: string): void {
    this.registered.delete(deviceToken);
    this.unregistered.add(deviceToken);
  }

  /** The next well-formed, authenticated requests get these answers instead, in order. */
  answerNext(...answers: ApnsAnswer[]): void {
    this.scripted.push(...answers);
  }

  /** The payloads a device received. */
  deliveredTo(deviceToken: string): Record<string, unknown>[] {
    return this.requests.filter((r) => r.deviceToken === deviceToken && r.status === 200).map((r) => r.payload!);
  }

  /** Ends every connection with a GOAWAY, as APNs does when it rotates servers. */
  goaway(): void {
    for (const session of this.open) session.close();
  }

  async close(): Promise<void> {
    for (const session of this.open) session.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async handle(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, raw: string): Promise<void> {
    const path = String(headers[':path']);
    const deviceToken = decodeURIComponent(/^\/3\/device\/([^/?]+)$/.exec(path)?.[1] ?? '');
    const jwt = /^bearer (.+)$/.exec(String(headers.authorization ?? ''))?.[1] ?? '';
    let payload: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = JSON.parse(raw);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) payload = parsed as Record<string, unknown>;
    } catch {
      // BadPayload below
    }
    const answer = await this.answer(stream.session!, headers, deviceToken, jwt, raw, payload);
    this.requests.push({ deviceToken, headers, jwt, payload, ...answer, session: this.sessionNumber.get(stream.session!)! });
    if (stream.destroyed) return;
    const body = answer.status === 200 ? '' : JSON.stringify({ reason: answer.reason, ...(answer.status === 410 ? { timestamp: Date.now() } : {}) });
    stream.respond({ ':status': answer.status, 'apns-id': crypto.randomUUID(), ...(body === '' ? {} : { 'content-type': 'application/json' }) });
    stream.end(body);
  }

  private async answer(session: Http2Session, headers: IncomingHttpHeaders, deviceToken: string, jwt: string, raw: string, payload: Record<string, unknown> | undefined): Promise<ApnsAnswer> {
    const refuse = (status: number, reason: string): ApnsAnswer => ({ status, reason });
    if (headers[':method'] !== 'POST') return refuse(405, 'MethodNotAllowed');
    if (deviceToken === '') return refuse(404, 'BadPath');
    const authenticated = await this.authenticate(session, jwt);
    if (authenticated !== undefined) return authenticated;
    const topic = headers['apns-topic'];
    if (topic === undefined) return refuse(400, 'MissingTopic');
    if (topic !== this.settings.topic) return refuse(400, 'TopicDisallowed');
    const pushType = String(headers['apns-push-type'] ?? '');
    if (!PUSH_TYPES.has(pushType)) return refuse(400, 'InvalidPushType');
    const priority = headers['apns-priority'];
    if (priority !== undefined && !['1', '5', '10'].includes(String(priority))) return refuse(400, 'BadPriority');
    if (pushType === 'background' && priority !== '5') return refuse(400, 'BadPriority');
    if (headers['apns-expiration'] !== undefined && !/^\d+$/.test(String(headers['apns-expiration']))) return refuse(400, 'BadExpirationDate');
    const collapseId = headers['apns-collapse-id'];
    if (collapseId !== undefined && Buffer.byteLength(String(collapseId)) > 64) return refuse(400, 'BadCollapseId');
    if (Buffer.byteLength(raw) > MAX_PAYLOAD_BYTES) return refuse(413, 'PayloadTooLarge');
    if (raw === '') return refuse(400, 'PayloadEmpty');
    const aps = payload?.aps;
    if (typeof aps !== 'object' || aps === null || Array.isArray(aps)) return refuse(400, 'BadPayload');
    if (pushType === 'background' && (aps as Record<string, unknown>)['content-available'] !== 1) return refuse(400, 'BadPayload');
    const scripted = this.scripted.shift();
    if (scripted !== undefined) return scripted;
    if (this.unregistered.has(deviceToken)) return refuse(410, 'Unregistered');
    if (!this.registered.has(deviceToken)) return refuse(400, 'BadDeviceToken');
    return { status: 200 };
  }

  /** APNs's provider-token rules; undefined when the token passes. */
  private async authenticate(session: Http2Session, jwt: string): Promise<ApnsAnswer | undefined> {
    if (jwt === '') return { status: 403, reason: 'MissingProviderToken' };
    let iat: number;
    try {
      if (decodeProtectedHeader(jwt).kid !== this.settings.keyId) return { status: 403, reason: 'InvalidProviderToken' };
      // No maxTokenAge here: an old token is ExpiredProviderToken, not a bad one.
      const { payload } = await jwtVerify(jwt, this.settings.publicKey, { algorithms: ['ES256'], issuer: this.settings.teamId });
      if (typeof payload.iat !== 'number') return { status: 403, reason: 'InvalidProviderToken' };
      iat = payload.iat;
    } catch {
      return { status: 403, reason: 'InvalidProviderToken' };
    }
    const now = Math.floor(Date.now() / 1000);
    if (iat > now + 60) return { status: 403, reason: 'InvalidProviderToken' };
    if (now - iat > 3600) return { status: 403, reason: 'ExpiredProviderToken' };
    const previous = this.tokenIat.get(session);
    if (previous !== undefined && previous !== iat && Math.abs(iat - previous) < 20 * 60) return { status: 429, reason: 'TooManyProviderTokenUpdates' };
    this.tokenIat.set(session, iat);
    return undefined;
  }
}
