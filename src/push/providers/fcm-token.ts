// FCM HTTP v1's credentials: the service account from the Firebase console, and the OAuth2 access
// token it buys (RFC 7523: a JWT assertion signed with the account's RSA key, exchanged at the
// token URL). One token serves every send until a minute before it expires; one refresh is in
// flight at a time, however many sends wait for it.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import type { PushConfig } from '../../config/schema.js';
import type { SendOutcome } from '../types.js';
import { SEND_TIMEOUT_MS, transientOutcome, unansweredOutcome } from './outcome.js';
import { ProviderSettingError, readSettingFile } from './setting-error.js';

const SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
/** Google accepts assertions valid for at most an hour. */
const ASSERTION_SECONDS = 3600;
/** A token this close to its expiry is renewed before use, so no send carries one that lapses in flight. */
const RENEW_BEFORE_MS = 60_000;

export interface ServiceAccount {
  projectId: string;
  clientEmail: string;
  keyId?: string;
  key: KeyObject;
  tokenUrl: string;
}

/** Reads and checks push.fcm; throws ProviderSettingError naming the setting that cannot work. */
export function serviceAccountOf(push: PushConfig): ServiceAccount {
  const settings = push.fcm;
  if (settings === undefined) throw new ProviderSettingError('push.fcm', 'not set');
  const { serviceAccount: inline, serviceAccountFile: file } = settings;
  const setting = inline !== undefined ? 'push.fcm.serviceAccount' : 'push.fcm.serviceAccountFile';
  let text: string;
  if (inline !== undefined) text = inline;
  else if (file !== undefined) text = readSettingFile(setting, file);
  else throw new ProviderSettingError('push.fcm.serviceAccount', 'set it or push.fcm.serviceAccountFile');

  // Messages never quote the JSON: it holds the private key.
  let account: Record<string, unknown>;
  try {
    account = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new ProviderSettingError(setting, 'not JSON (expected the service-account key file from the Firebase console)');
  }
  if (typeof account !== 'object' || account === null) throw new ProviderSettingError(setting, 'not a JSON object');
  for (const field of ['project_id', 'client_email', 'private_key']) {
    if (typeof account[field] !== 'string' || account[field] === '') throw new ProviderSettingError(setting, `has no ${field}`);
  }
  let key: KeyObject;
  try {
    // A key that went through a shell or an env file once too often keeps its newlines as `\n`.
    key = createPrivateKey((account.private_key as string).replace(/\\n/g, '\n'));
  } catch {
    throw new ProviderSettingError(setting, 'private_key is not a PEM private key');
  }
  if (key.asymmetricKeyType !== 'rsa') throw new ProviderSettingError(setting, 'private_key is not an RSA key');
  const tokenUrl = settings.tokenUrl ?? (typeof account.token_uri === 'string' ? account.token_uri : GOOGLE_TOKEN_URL);
  if (!/^https?:\/\//.test(tokenUrl)) throw new ProviderSettingError(setting, 'token_uri is not an http(s) URL');
  return {
    projectId: account.project_id as string,
    clientEmail: account.client_email as string,
    keyId: typeof account.private_key_id === 'string' ? account.private_key_id : undefined,
    key,
    tokenUrl,
  };
}

/** The token endpoint said no, or did not answer: what the sends waiting for it come to. */
export class TokenUnavailable extends Error {
  constructor(readonly outcome: SendOutcome) {
    super('no FCM access token');
  }
}

export class AccessTokens {
  private current: { token: string; renewAt: number } | undefined;
  private pending: Promise<string> | undefined;
  private readonly closed = new AbortController();

  constructor(private readonly account: ServiceAccount) {}

  /** A valid token; rejects with TokenUnavailable only. */
  get(): Promise<string> {
    if (this.current !== undefined && Date.now() < this.current.renewAt) return Promise.resolve(this.current.token);
    this.pending ??= this.refresh().finally(() => (this.pending = undefined));
    return this.pending;
  }

  /** FCM refused `token` (401): the next get() fetches another, unless one replaced it already. */
  drop(token: string): void {
    if (this.current?.token === token) this.current = undefined;
  }

  close(): void {
    this.closed.abort();
  }

  private async refresh(): Promise<string> {
    const { clientEmail, keyId, key, tokenUrl } = this.account;
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({ scope: SCOPE })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...(keyId === undefined ? {} : { kid: keyId }) })
      .setIssuer(clientEmail)
      .setAudience(tokenUrl)
      .setIssuedAt(now)
      .setExpirationTime(now + ASSERTION_SECONDS)
      .sign(key);
    // Shared by every waiting send, so not bound to one send's signal.
    const signal = AbortSignal.any([AbortSignal.timeout(SEND_TIMEOUT_MS), this.closed.signal]);
    let response: Response;
    let answer: Record<string, unknown>;
    try {
      response = await fetch(tokenUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: GRANT_TYPE, assertion }),
        redirect: 'manual',
        signal,
      });
      answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    } catch (error) {
      throw new TokenUnavailable(unansweredOutcome('fcm token', error, this.closed.signal));
    }
    const { access_token: token, expires_in: expiresIn } = answer;
    if (response.ok && typeof token === 'string' && typeof expiresIn === 'number') {
      const renewAt = Date.now() + expiresIn * 1000 - RENEW_BEFORE_MS;
      this.current = { token, renewAt };
      return token;
    }
    // 4xx (invalid_grant: the key was revoked, or this clock is off) fails the sends; 429 and 5xx retry them.
    const code = typeof answer.error === 'string' ? ` ${answer.error.slice(0, 64)}` : '';
    const reason = `fcm token: ${response.status}${code}`;
    if (response.ok) throw new TokenUnavailable({ kind: 'failed', reason: `${reason} without access_token` });
    throw new TokenUnavailable(transientOutcome(response.status, response.headers.get('retry-after'), reason) ?? { kind: 'failed', reason });
  }
}
