// Push notifications (docs/PROTOCOL.md §16): what a device is, what a notification is, and the
// two seams every part meets at — a provider sends one notification to one device and says what
// became of it; a device store keeps the registry (memory, Redis, SQL).
import type { App } from '../apps/registry.js';

export const PROVIDERS = ['webpush', 'fcm', 'apns', 'onesignal'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export interface WebPushKeys {
  /** base64url of the subscription's 65-byte P-256 public key. */
  p256dh: string;
  /** base64url of its 16-byte auth secret. */
  auth: string;
}

export interface Device {
  /** Derived from provider and token (deviceId()): registering a token again updates the same device. */
  id: string;
  appId: string;
  provider: ProviderName;
  /** FCM registration token, APNs device token (hex), OneSignal subscription id, or the Web Push endpoint URL. */
  token: string;
  /** Web Push only. */
  keys?: WebPushKeys;
  /** APNs only: a development build's token, sent to the sandbox. */
  sandbox?: boolean;
  /** Absent for devices that only follow interests. */
  userId?: string;
  interests: string[];
  /** Epoch ms of the first registration. */
  createdAt: number;
}

/** Provider-neutral, as the API takes it (§16.3), snake_case fields already mapped. */
export interface Notification {
  title?: string;
  body?: string;
  url?: string;
  icon?: string;
  data?: Record<string, unknown>;
  /** Seconds the provider may keep it for an offline device; the app's push.ttlSeconds when absent. */
  ttlSeconds?: number;
  urgency?: 'very-low' | 'low' | 'normal' | 'high';
  /** A later notification with the same key replaces an undelivered one (Topic, collapse_key, apns-collapse-id). */
  collapseKey?: string;
  /** Merged over what the neutral fields make for that provider. */
  webpush?: Record<string, unknown>;
  fcm?: Record<string, unknown>;
  apns?: Record<string, unknown>;
  onesignal?: Record<string, unknown>;
}

/** What became of one send (§16.6). */
export type SendOutcome =
  | { kind: 'sent' }
  /** 429, 5xx, timeout, network error: try again, after `afterMs` when the provider said (Retry-After). */
  | { kind: 'retry'; reason: string; afterMs?: number }
  /** The provider says the token is gone for good: remove the device. */
  | { kind: 'dead'; reason: string }
  /** Refused for good for another reason (bad payload, credentials): counted and logged, not retried. */
  | { kind: 'failed'; reason: string };

/**
 * One provider configured for one app. `send` never throws and never logs tokens, keys or
 * payloads; a `reason` names the status and the provider's error code only.
 */
export interface PushProvider {
  readonly name: ProviderName;
  send(device: Device, notification: Notification, signal: AbortSignal): Promise<SendOutcome>;
  /** Releases connections (APNs keeps an HTTP/2 session per origin). */
  close(): Promise<void>;
}

export interface DeviceStore {
  /**
   * Adds or updates the device (same app and id). Keeps at most `maxPerUser` devices per user,
   * dropping the oldest. Resolves true when the device is new.
   */
  register(device: Device, maxPerUser: number): Promise<boolean>;
  get(appId: string, deviceId: string): Promise<Device | undefined>;
  /** Resolves true when there was such a device. */
  remove(appId: string, deviceId: string): Promise<boolean>;
  /** Every device of these users, each once. */
  forUsers(appId: string, userIds: readonly string[]): Promise<Device[]>;
  /** Every device following at least one of these interests, each once. */
  forInterests(appId: string, interests: readonly string[]): Promise<Device[]>;
  close(): Promise<void>;
}

/** What the rest of the server uses of push: the registry, and queueing sends (src/push/service.ts). */
export interface Push {
  readonly devices: DeviceStore;
  /**
   * Queues one send per device (a device listed twice is sent once) with the app's providers and
   * resolves to how many were queued. Devices of a provider the app has not configured are skipped.
   */
  notify(app: App, devices: readonly Device[], notification: Notification): Promise<number>;
}
