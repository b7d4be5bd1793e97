// HTTP side of the conformance suite: a signer and raw REST client per docs/PROTOCOL.md §5.2, and
// `PhpPusher`, which reproduces the requests of pusher-http-php 7.2.6 as driven by Laravel's
// PusherBroadcaster (docs/PROTOCOL.md §5.2 "What the SDKs send", §5.3, §8.1) byte for byte, because
// the PHP SDK is the publisher most production apps use and it differs from Node in ways a
// server can trip over: `channel` vs `channels`, RFC 3986-encoded query values, `body_md5` on
// every POST, json_encode escaping inside the data string, and "any status but 200 is an error".
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import nacl from 'tweetnacl';
import type { Target } from '../types.js';
import { hmacHex, md5Hex } from './sign.js';

export { hmacHex, md5Hex };

/** §5.2 steps 6–7: keys lower-cased and byte-sorted, `auth_signature` dropped, no URL escaping. */
export function stringToSign(method: string, path: string, params: Record<string, string>): string {
  const pairs = Object.entries(params)
    .map(([k, v]) => [k.toLowerCase(), v] as const)
    .filter(([k]) => k !== 'auth_signature')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${method.toUpperCase()}\n${path}\n${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`;
}

export interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export function parseJson(reply: HttpReply): unknown {
  try {
    return JSON.parse(reply.text);
  } catch {
    throw new Error(`HTTP ${reply.status} body is not JSON: ${JSON.stringify(reply.text.slice(0, 200))}`);
  }
}

/** node:http rather than fetch: fetch adds its own Content-Type/Accept headers and we need exact ones. */
export function send(url: string, method: string, headers: Record<string, string> = {}, body?: string): Promise<HttpReply> {
  const u = new URL(url);
  const doRequest = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = doRequest(u, { method, headers: body === undefined ? headers : { ...headers, 'Content-Length': String(Buffer.byteLength(body)) }, rejectUnauthorized: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

export const origin = (t: Target): string => `${t.tls ? 'https' : 'http'}://${t.host}:${t.port}`;

export interface SignedRequest {
  method: 'GET' | 'POST';
  /** Path after /apps/{appId}, e.g. `/events`. The server prefix is added to the URL, never signed (§5.2 step 7). */
  path: string;
  query?: Record<string, string>;
  body?: string;
  /** Negative-test overrides; defaults come from the target. */
  appId?: string;
  key?: string;
  secret?: string;
  timestamp?: number;
  /** null = leave `auth_version` out. */
  authVersion?: string | null;
  /** Bytes put on the wire when they differ from the signed body (item 81). */
  wireBody?: string;
  /** null = leave `body_md5` out although there is a body (item 81). */
  bodyMd5?: null;
  /** RFC 3986-encode query values as Guzzle does (PHP); otherwise raw like the Node SDK. */
  encodeValues?: boolean;
  signature?: string;
  headers?: Record<string, string>;
}

/** A REST client that signs every request exactly as §5.2 documents and lets tests break one thing at a time. */
export class RestClient {
  constructor(readonly target: Target) {}

  signedUrl(req: SignedRequest): string {
    const t = this.target;
    const signedPath = `/apps/${req.appId ?? t.appId}${req.path}`;
    const params: Record<string, string> = { auth_key: req.key ?? t.key, auth_timestamp: String(req.timestamp ?? Math.floor(Date.now() / 1000)) };
    if (req.authVersion !== null) params.auth_version = req.authVersion ?? '1.0';
    if (req.body !== undefined && req.body !== '' && req.bodyMd5 !== null) params.body_md5 = md5Hex(req.body);
    Object.assign(params, req.query);
    const signature = req.signature ?? hmacHex(req.secret ?? t.secret, stringToSign(req.method, signedPath, params));
    const enc = req.encodeValues ? rfc3986 : (v: string) => v;
    const query = [...Object.entries(params), ['auth_signature', signature]].map(([k, v]) => `${k}=${enc(v)}`).join('&');
    return `${origin(t)}${t.pathPrefix}${signedPath}?${query}`;
  }

  request(req: SignedRequest): Promise<HttpReply> {
    const body = req.wireBody ?? req.body;
    const headers = { ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...req.headers };
    return send(this.signedUrl(req), req.method, headers, body);
  }

  post(path: string, body: unknown, extra: Partial<SignedRequest> = {}): Promise<HttpReply> {
    return this.request({ method: 'POST', path, body: typeof body === 'string' ? body : JSON.stringify(body), ...extra });
  }

  get(path: string, query: Record<string, string> = {}, extra: Partial<SignedRequest> = {}): Promise<HttpReply> {
    return this.request({ method: 'GET', path, query, ...extra });
  }
}

/** PHP rawurlencode / Guzzle `http_build_query(..., PHP_QUERY_RFC3986)`: only A-Z a-z 0-9 - _ . ~ stay literal. */
export function rfc3986(v: string): string {
  return encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * PHP `json_encode($v)` with default flags: `/` → `\/`, every non-ASCII UTF-16 unit → `\uxxxx`
 * (lowercase hex), control characters as in JSON. Objects keep insertion order. PHP would encode an
 * empty *array* as `[]`; pass `[]` for that. Floats are not PHP-exact (1.0 prints as 1) — avoid them.
 */
export function phpJsonEncode(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') {
    const escaped = JSON.stringify(value).slice(1, -1).replace(/\//g, '\\/');
    return `"${escaped.replace(/[\u007f-\uffff]/g, (c) => (c === '\u007f' ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`))}"`;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(phpJsonEncode).join(',')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>).map(([k, v]) => `${phpJsonEncode(k)}:${phpJsonEncode(v)}`).join(',')}}`;
  }
  throw new Error(`phpJsonEncode: unsupported ${typeof value}`);
}

/** §4: `base64(SHA256(channel || master_key))`, the key both SDKs derive per encrypted channel. */
export function sharedSecret(channel: string, masterKeyBase64: string): Buffer {
  const master = Buffer.from(masterKeyBase64, 'base64');
  if (master.length !== 32) throw new Error('encryption master key must decode to 32 bytes');
  return createHash('sha256').update(Buffer.concat([Buffer.from(channel, 'utf8'), master])).digest();
}

/** pusher-http-php 7.x ApiErrorException: thrown for every status other than exactly 200 (§5.2). */
export class ApiErrorException extends Error {
  constructor(readonly body: string, readonly status: number) {
    super(body);
  }
}

export interface PhpOptions {
  masterKeyBase64?: string;
}

/**
 * pusher-http-php 7.2.6 (`src/Pusher.php`, `src/PusherCrypto.php`) over Guzzle, as configured by
 * Laravel's `config/broadcasting.php` (§8.2) with the server's path prefix given as `'path' => prefix.'/'`
 * (Guzzle drops a base_uri path without a trailing slash). Reproduced: body key order
 * (`name`, `data`, `channel`|`channels`, `info`, then params), `channel` for exactly one channel,
 * `body_md5` on every POST, query keys ksorted + `auth_signature` appended, RFC 3986 values,
 * `Content-Type: application/json` + `X-Pusher-Library` on GET and POST, non-200 → exception,
 * non-JSON 200 → "Data decoding error.".
 */
export class PhpPusher {
  static readonly VERSION = '7.2.6';
  readonly requests: { method: string; url: string; headers: Record<string, string>; body?: string }[] = [];

  constructor(readonly target: Target, readonly options: PhpOptions = {}) {}

  private async call(method: 'GET' | 'POST', path: string, params: Record<string, string>, body?: string): Promise<any> {
    const t = this.target;
    const fullPath = `/apps/${t.appId}${path}`;
    const query: Record<string, string> = { ...params };
    if (method === 'POST') query.body_md5 = md5Hex(body ?? '');
    // build_auth_query_params: array_merge(auth_*, params), ksort, sign, then append auth_signature.
    const signed: Record<string, string> = { auth_key: t.key, auth_timestamp: String(Math.floor(Date.now() / 1000)), auth_version: '1.0', ...query };
    const sorted = Object.fromEntries(Object.entries(signed).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const signature = hmacHex(t.secret, `${method}\n${fullPath}\n${Object.entries(sorted).map(([k, v]) => `${k}=${v}`).join('&')}`);
    const qs = Object.entries({ ...sorted, auth_signature: signature }).map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`).join('&');
    const url = `${origin(t)}${t.pathPrefix}${fullPath}?${qs}`;
    const headers = { 'User-Agent': 'GuzzleHttp/7', 'Content-Type': 'application/json', 'X-Pusher-Library': `pusher-http-php ${PhpPusher.VERSION}` };
    this.requests.push({ method, url, headers, body });
    const reply = await send(url, method, headers, body);
    if (reply.status !== 200) throw new ApiErrorException(reply.text, reply.status);
    try {
      return JSON.parse(reply.text);
    } catch {
      throw new Error('Data decoding error.');
    }
  }

  private encodeData(channels: string[], data: unknown, alreadyEncoded: boolean): string {
    const plain = alreadyEncoded ? String(data) : phpJsonEncode(data);
    if (!channels.some((c) => c.startsWith('private-encrypted-'))) return plain;
    if (channels.length > 1) throw new Error('You cannot trigger to encrypted and non-encrypted channels at the same time');
    if (!this.options.masterKeyBase64) throw new Error('You must specify an encryption master key');
    const nonce = randomBytes(24);
    const box = nacl.secretbox(Buffer.from(plain, 'utf8'), nonce, sharedSecret(channels[0], this.options.masterKeyBase64));
    return phpJsonEncode({ nonce: nonce.toString('base64'), ciphertext: Buffer.from(box).toString('base64') });
  }

  /** `make_event`: the body object of one trigger or one batch item. */
  private makeEvent(channels: string[], event: string, data: unknown, params: Record<string, string>, info: string | undefined, alreadyEncoded: boolean): Record<string, unknown> {
    const ev: Record<string, unknown> = { name: event, data: this.encodeData(channels, data, alreadyEncoded) };
    if (channels.length === 1) ev.channel = channels[0];
    else ev.channels = channels;
    if (info !== undefined) ev.info = info;
    return { ...ev, ...params };
  }

  trigger(channels: string | string[], event: string, data: unknown, params: Record<string, string> = {}, alreadyEncoded = false): Promise<any> {
    const list = typeof channels === 'string' ? [channels] : channels;
    if (list.length > 100) throw new Error('An event can be triggered on a maximum of 100 channels in a single call.');
    for (const c of list) if (!/^#?[-a-zA-Z0-9_=@,.;]+$/.test(c)) throw new Error(`Invalid channel name ${c}`);
    if (params.socket_id !== undefined && !/^\d+\.\d+$/.test(params.socket_id)) throw new Error(`Invalid socket ID ${params.socket_id}`);
    return this.call('POST', '/events', {}, phpJsonEncode(this.makeEvent(list, event, data, params, undefined, alreadyEncoded)));
  }

  triggerBatch(batch: { channel: string; name: string; data: unknown; socket_id?: string; info?: string }[], alreadyEncoded = false): Promise<any> {
    const items = batch.map((e) => this.makeEvent([e.channel], e.name, e.data, e.socket_id !== undefined ? { socket_id: e.socket_id } : {}, e.info, alreadyEncoded));
    return this.call('POST', '/batch_events', {}, phpJsonEncode({ batch: items }));
  }

  async getChannels(params: Record<string, string> = {}): Promise<any> {
    const result = await this.call('GET', '/channels', params);
    // get_object_vars($result->channels): a JSON array here is a PHP 8 TypeError (§5.2).
    if (typeof result.channels !== 'object' || result.channels === null || Array.isArray(result.channels)) {
      throw new TypeError('get_object_vars(): Argument #1 ($object) must be of type object');
    }
    return result;
  }

  getChannelInfo(channel: string, params: Record<string, string> = {}): Promise<any> {
    return this.call('GET', `/channels/${channel}`, params);
  }

  getPresenceUsers(channel: string): Promise<any> {
    return this.call('GET', `/channels/${channel}/users`, {});
  }

  terminateUserConnections(userId: string): Promise<any> {
    return this.call('POST', `/users/${userId}/terminate_connections`, {}, '{}');
  }

  /** `authorizeChannel`: the JSON string Laravel decodes and re-encodes as the /broadcasting/auth reply. */
  authorizeChannel(channel: string, socketId: string, customData?: string): Record<string, string> {
    const toSign = customData ? `${socketId}:${channel}:${customData}` : `${socketId}:${channel}`;
    const reply: Record<string, string> = { auth: `${this.target.key}:${hmacHex(this.target.secret, toSign)}` };
    if (customData) reply.channel_data = customData;
    if (channel.startsWith('private-encrypted-')) {
      if (!this.options.masterKeyBase64) throw new Error('You must specify an encryption master key to authorize an encrypted channel');
      reply.shared_secret = sharedSecret(channel, this.options.masterKeyBase64).toString('base64');
    }
    return reply;
  }

  /** `authorizePresenceChannel`: channel_data is json_encode(['user_id' => (string) id, 'user_info' => info]). */
  authorizePresenceChannel(channel: string, socketId: string, userId: string, userInfo?: unknown): Record<string, string> {
    const data: Record<string, unknown> = { user_id: userId };
    if (userInfo) data.user_info = userInfo;
    return this.authorizeChannel(channel, socketId, phpJsonEncode(data));
  }

  /** `authenticateUser`: returns the JSON string Laravel sends back from /broadcasting/user-auth verbatim. */
  authenticateUser(socketId: string, userData: Record<string, unknown>): string {
    const serialized = phpJsonEncode(userData);
    return phpJsonEncode({ auth: `${this.target.key}:${hmacHex(this.target.secret, `${socketId}::user::${serialized}`)}`, user_data: serialized });
  }

  /** `verifySignature` + `webhook()`: PHP reads `X-Pusher-Key`/`X-Pusher-Signature` (getallheaders is case-normalised). */
  webhook(headers: Record<string, string | string[] | undefined>, body: string): { time_ms: number; events: unknown[] } {
    const h = (name: string) => String(Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1] ?? '');
    if (h('x-pusher-key') !== this.target.key || hmacHex(this.target.secret, body) !== h('x-pusher-signature')) {
      throw new Error(`Received WebHook with invalid signature: got ${h('x-pusher-signature')}.`);
    }
    return JSON.parse(body);
  }
}

/**
 * Laravel `PusherBroadcaster::broadcast` (§8.1): pull `socket` out of the payload into `socket_id`,
 * chunk channels by 100, one `trigger()` per chunk, ApiErrorException → BroadcastException.
 */
export async function laravelBroadcast(php: PhpPusher, channels: string[], event: string, payload: Record<string, unknown>): Promise<void> {
  const { socket, ...rest } = payload;
  const params: Record<string, string> = socket !== undefined && socket !== null ? { socket_id: String(socket) } : {};
  try {
    for (let i = 0; i < channels.length; i += 100) await php.trigger(channels.slice(i, i + 100), event, rest, params);
  } catch (error) {
    if (error instanceof ApiErrorException) throw new Error(`BroadcastException: Pusher error: ${error.message}. (HTTP ${error.status})`);
    throw error;
  }
}
