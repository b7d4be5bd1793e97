// Which provider module builds which provider, from an app's `push` settings (docs/PROTOCOL.md §16.1).
import type { PushConfig } from '../../config/schema.js';
import type { ProviderName, PushProvider } from '../types.js';
import { createApnsProvider } from './apns.js';
import { createFcmProvider } from './fcm.js';
import { createOneSignalProvider } from './onesignal.js';
import { createWebPushProvider } from './webpush.js';

/**
 * Builds one provider for one app. Throws ProviderSettingError (setting-error.ts) when the settings cannot work
 * (a key that does not parse, a missing file): the start refuses such an app.
 */
export type ProviderFactory = (push: PushConfig) => PushProvider;

export const PROVIDER_FACTORIES: Record<ProviderName, ProviderFactory> = {
  webpush: createWebPushProvider,
  fcm: createFcmProvider,
  apns: createApnsProvider,
  onesignal: createOneSignalProvider,
};
