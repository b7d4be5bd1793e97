// Which provider module builds which provider, from an app's `push` settings (docs/PROTOCOL.md §16.1).
import type { PushConfig } from '../../config/schema.js';
import type { ProviderName, PushProvider } from '../types.js';
import { createApnsProvider } from './apns.js';
import { createFcmProvider } from './fcm.js';
import { createOneSignalProvider } from './onesignal.js';
import { createWebPushProvider } from './webpush.js';

/**
 * Builds one provider for one app. Throws ProviderSettingError when the settings cannot work
 * (a key that does not parse, a missing file): the start refuses such an app.
 */
export type ProviderFactory = (push: PushConfig) => PushProvider;

export class ProviderSettingError extends Error {
  constructor(
    /** The setting as the config names it, e.g. `push.apns.keyFile`. */
    readonly setting: string,
    message: string,
  ) {
    super(`Invalid setting ${setting}: ${message}`);
  }
}

export const PROVIDER_FACTORIES: Record<ProviderName, ProviderFactory> = {
  webpush: createWebPushProvider,
  fcm: createFcmProvider,
  apns: createApnsProvider,
  onesignal: createOneSignalProvider,
};
