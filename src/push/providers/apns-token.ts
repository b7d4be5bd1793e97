// APNs token-based authentication: the `.p8` key signs a short ES256 JWT (`kid` the key id, `iss`
// the team id, `iat`) that every request carries. APNs refuses tokens older than an hour and
// renewals more frequent than every 20 minutes, so one token serves all sends for 50 minutes.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import type { PushConfig } from '../../config/schema.js';
import { ProviderSettingError, readSettingFile } from './setting-error.js';

const TOKEN_RENEW_MS = 50 * 60_000;

type ApnsSettings = NonNullable<PushConfig['apns']>;

/** The signing key from push.apns.key or push.apns.keyFile; ProviderSettingError naming the one in use when it cannot sign ES256. */
export function loadSigningKey(settings: ApnsSettings): KeyObject {
  const setting = settings.keyFile !== undefined ? 'push.apns.keyFile' : 'push.apns.key';
  let pem: string;
  if (settings.keyFile !== undefined) {
    pem = readSettingFile(setting, settings.keyFile);
  } else if (settings.key !== undefined) {
    // An env var often carries the .p8 on one line with literal \n.
    pem = settings.key.replace(/\\n/g, '\n');
  } else {
    throw new ProviderSettingError(setting, 'missing: set the .p8 key inline or push.apns.keyFile');
  }
  if (!pem.includes('-----BEGIN PRIVATE KEY-----')) {
    throw new ProviderSettingError(setting, 'expected the .p8 file from Apple: a PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----")');
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new ProviderSettingError(setting, 'the PKCS#8 PEM does not parse');
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    const kind = key.asymmetricKeyType === 'ec' ? `EC ${key.asymmetricKeyDetails?.namedCurve}` : key.asymmetricKeyType;
    throw new ProviderSettingError(setting, `expected an EC P-256 key (ES256), got ${kind}`);
  }
  return key;
}

/** The current provider token, signed once and shared by every send until it is 50 minutes old. */
export class ProviderToken {
  private current: { jwt: Promise<string>; issuedAtMs: number } | undefined;

  constructor(
    private readonly key: KeyObject,
    private readonly keyId: string,
    private readonly teamId: string,
    private readonly now: () => number,
  ) {}

  get(): Promise<string> {
    const now = this.now();
    if (this.current === undefined || now - this.current.issuedAtMs >= TOKEN_RENEW_MS) {
      // One signing for concurrent sends: several fresh tokens at once count as too many updates.
      const jwt = new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid: this.keyId })
        .setIssuer(this.teamId)
        .setIssuedAt(Math.floor(now / 1000))
        .sign(this.key);
      const entry = { jwt, issuedAtMs: now };
      this.current = entry;
      jwt.catch(() => {
        if (this.current === entry) this.current = undefined;
      });
    }
    return this.current.jwt;
  }

  /** APNs called `jwt` expired: the next get() signs a new one, unless a concurrent send already did. */
  async expire(jwt: string): Promise<void> {
    const entry = this.current;
    if (entry !== undefined && (await entry.jwt.catch(() => undefined)) === jwt && this.current === entry) this.current = undefined;
  }
}
