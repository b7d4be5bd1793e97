// A Web Push service (what a browser's push service runs) over real HTTP, checking what the real
// ones check: the VAPID JWT (RFC 8292: ES256 against the app's public key, aud the endpoint's
// origin, exp in the future and at most 24 h ahead, sub a mailto: or https: contact), TTL and
// Urgency, and the aes128gcm body, which it decrypts with the subscription's private key (RFC
// 8291 over RFC 8188) the way the browser does. Subscriptions are made here, like a browser's
// pushManager.subscribe(): real P-256 keys and a 16-byte auth secret.
import { createDecipheriv, createECDH, hkdfSync, randomBytes, randomUUID, type ECDH } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { importJWK, jwtVerify, type JWTPayload } from 'jose';
import type { WebPushKeys } from '../../../src/push/types.js';
import { Scripts, startFakeServer, type FakeReply, type FakeRequest, type FakeServer, type Script } from './http.js';

export interface Subscription {
  endpoint: string;
  keys: WebPushKeys;
}

export interface PushReceived {
  endpoint: string;
  headers: IncomingHttpHeaders;
  status: number;
  /** Why the service refused it; undefined when every check passed. */
  refused?: string;
  /** The VAPID JWT's claims, once verified. */
  claims?: JWTPayload;
  /** The decrypted payload, parsed, once decrypted. */
  payload?: unknown;
}

const MAX_JWT_SECONDS = 24 * 3600;
const URGENCIES = new Set(['very-low', 'low', 'normal', 'high']);
const TAG_BYTES = 16;

/** The subscriber's side of RFC 8291: its ECDH key pair and auth secret. */
interface Subscriber {
  ecdh: ECDH;
  auth: Buffer;
  gone: boolean;
}

class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class FakeWebPushService {
  readonly received: PushReceived[] = [];
  private readonly subscribers = new Map<string, Subscriber>();
  private readonly scripts = new Scripts();
  private server!: FakeServer;

  /** `vapidPublicKey`: the applicationServerKey the page subscribed with (base64url, 65 bytes). */
  private constructor(private readonly vapidPublicKey: string) {}

  static async start(vapidPublicKey: string): Promise<FakeWebPushService> {
    const service = new FakeWebPushService(vapidPublicKey);
    service.server = await startFakeServer((request) => service.handle(request));
    return service;
  }

  get origin(): string {
    return this.server.origin;
  }

  /** A new subscription, as PushSubscription.toJSON() gives it. */
  subscribe(): Subscription {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const auth = randomBytes(16);
    const endpoint = `${this.origin}/wpush/v2/${randomUUID()}`;
    this.subscribers.set(new URL(endpoint).pathname, { ecdh, auth, gone: false });
    return { endpoint, keys: { p256dh: ecdh.getPublicKey('base64url'), auth: auth.toString('base64url') } };
  }

  /** The browser unsubscribed: the service answers 410 Gone from now on. */
  unsubscribe(endpoint: string): void {
    this.subscribers.get(new URL(endpoint).pathname)!.gone = true;
  }

  /** Overrides the answer to pushes that passed the checks (429, 500 …). */
  script(endpoint: string, script: Script): void {
    this.scripts.set(new URL(endpoint).pathname, script);
  }

  /** Pushes that passed every check, decrypted, for one subscription. */
  delivered(endpoint: string): PushReceived[] {
    return this.received.filter((push) => push.endpoint === endpoint && push.refused === undefined);
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private async handle(request: FakeRequest): Promise<FakeReply> {
    const endpoint = `${this.origin}${request.url}`;
    const push: PushReceived = { endpoint, headers: request.headers, status: 201 };
    this.received.push(push);
    try {
      if (request.method !== 'POST') throw new Refusal(405, 'push messages are POSTs');
      const subscriber = this.subscribers.get(request.url);
      if (subscriber === undefined) throw new Refusal(404, 'no such subscription');
      if (subscriber.gone) throw new Refusal(410, 'subscription expired or unsubscribed');
      push.claims = await this.verifyVapid(request.headers.authorization, new URL(endpoint).origin);
      checkHeaders(request.headers);
      push.payload = JSON.parse(decrypt(request.body, subscriber).toString('utf8'));
    } catch (error) {
      push.status = error instanceof Refusal ? error.status : 400;
      push.refused = (error as Error).message;
      return { status: push.status, body: { reason: push.refused } };
    }
    const scripted = this.scripts.next(request.url);
    if (scripted !== undefined) push.status = scripted.status;
    return scripted ?? { status: 201, headers: { Location: `${endpoint}/messages/${randomUUID()}` } };
  }

  private async verifyVapid(authorization: string | undefined, audience: string): Promise<JWTPayload> {
    const match = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(authorization ?? '');
    if (match === null) throw new Refusal(401, 'expected Authorization: vapid t=…, k=…');
    const [, jwt, key] = match;
    if (key !== this.vapidPublicKey) throw new Refusal(403, 'k is not the applicationServerKey of the subscription');
    const point = Buffer.from(key!, 'base64url');
    const publicKey = await importJWK({ kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') }, 'ES256');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(jwt!, publicKey, { algorithms: ['ES256'], audience, requiredClaims: ['exp', 'sub'] }));
    } catch (error) {
      throw new Refusal(403, `VAPID JWT refused: ${(error as Error).message}`);
    }
    if (payload.exp! - Date.now() / 1000 > MAX_JWT_SECONDS) throw new Refusal(403, 'VAPID JWT exp more than 24 hours ahead');
    if (!/^(mailto:|https:)/.test(payload.sub!)) throw new Refusal(403, 'VAPID sub is not a mailto: or https: contact');
    return payload;
  }
}

function checkHeaders(headers: IncomingHttpHeaders): void {
  // RFC 8030 §5.2: a push service refuses a push without a TTL.
  const { ttl, urgency, topic } = headers;
  if (typeof ttl !== 'string' || !/^\d+$/.test(ttl)) throw new Refusal(400, 'TTL header missing or not a number');
  if (urgency !== undefined && (typeof urgency !== 'string' || !URGENCIES.has(urgency))) throw new Refusal(400, 'bad Urgency');
  if (topic !== undefined && (typeof topic !== 'string' || !/^[A-Za-z0-9_-]{1,32}$/.test(topic))) throw new Refusal(400, 'bad Topic');
  if (headers['content-encoding'] !== 'aes128gcm') throw new Refusal(415, 'Content-Encoding must be aes128gcm');
}

const hkdf = (ikm: Buffer, salt: Buffer, info: Buffer, length: number) => Buffer.from(hkdfSync('sha256', ikm, salt, info, length));

/** RFC 8291 §3.4 key derivation, then RFC 8188 records: salt(16) rs(4) idlen(1) keyid, records of rs bytes. */
function decrypt(body: Buffer, subscriber: Subscriber): Buffer {
  if (body.length < 21) throw new Refusal(400, 'body shorter than the aes128gcm header');
  const salt = body.subarray(0, 16);
  const recordSize = body.readUInt32BE(16);
  const idLength = body[20]!;
  const senderKey = body.subarray(21, 21 + idLength);
  if (idLength !== 65 || recordSize <= TAG_BYTES + 1) throw new Refusal(400, 'aes128gcm header: keyid must be the 65-byte sender key');
  const receiverKey = subscriber.ecdh.getPublicKey();
  const secret = subscriber.ecdh.computeSecret(senderKey);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), receiverKey, senderKey]);
  const ikm = hkdf(secret, subscriber.auth, keyInfo, 32);
  const contentKey = hkdf(ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16);
  const baseNonce = hkdf(ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12);

  const plain: Buffer[] = [];
  const records = body.subarray(21 + idLength);
  for (let offset = 0, sequence = 0; offset < records.length; offset += recordSize, sequence++) {
    const record = records.subarray(offset, offset + recordSize);
    const nonce = Buffer.from(baseNonce);
    nonce.writeUInt32BE((nonce.readUInt32BE(8) ^ sequence) >>> 0, 8);
    const decipher = createDecipheriv('aes-128-gcm', contentKey, nonce);
    decipher.setAuthTag(record.subarray(record.length - TAG_BYTES));
    let padded: Buffer;
    try {
      padded = Buffer.concat([decipher.update(record.subarray(0, record.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new Refusal(400, `record ${sequence} does not decrypt`);
    }
    // Content, a delimiter (2 in the last record, 1 before), then zero padding (RFC 8188 §2).
    let end = padded.length - 1;
    while (end >= 0 && padded[end] === 0) end--;
    const last = offset + recordSize >= records.length;
    if (padded[end] !== (last ? 2 : 1)) throw new Refusal(400, `record ${sequence} has a bad padding delimiter`);
    plain.push(padded.subarray(0, end));
  }
  return Buffer.concat(plain);
}
