// Every case module. The WebSocket modules are static imports; the HTTP/webhook/Laravel/browser
// modules are written in parallel by someone else, so they are loaded dynamically and a module
// that does not exist yet is simply absent (one that exists but fails to load is an error).
import type { Case } from '../types.js';
import { cases as clientEvents } from './ws-client-events.js';
import { cases as cacheCounts } from './ws-cache-counts.js';
import { cases as handshake } from './ws-handshake.js';
import { cases as keepalive } from './ws-keepalive.js';
import { cases as presence } from './ws-presence.js';
import { cases as subscribe } from './ws-subscribe.js';
import { cases as userAuth } from './ws-user-auth.js';

export const OPTIONAL_MODULES = ['http-auth', 'http-api', 'webhooks', 'laravel', 'browser'];

export interface LoadedCases {
  cases: Case[];
  /** Modules that exist but could not be imported. */
  loadErrors: { module: string; error: string }[];
}

export async function loadCases(): Promise<LoadedCases> {
  const cases = [...handshake, ...keepalive, ...subscribe, ...presence, ...clientEvents, ...userAuth, ...cacheCounts];
  const loadErrors: LoadedCases['loadErrors'] = [];
  for (const name of OPTIONAL_MODULES) {
    const specifier = `./${name}.js`; // a variable, so tsc does not require the file to exist
    try {
      const mod = (await import(specifier)) as { cases?: Case[] };
      if (!Array.isArray(mod.cases)) throw new Error('module does not export `cases: Case[]`');
      cases.push(...mod.cases);
    } catch (err) {
      const e = err as Error;
      // "Cannot find module '<path>' imported from …": absent only if <path> is this module itself.
      const missing = /Cannot find (?:module|package) '([^']+)'/.exec(e.message)?.[1] ?? '';
      const missingItself = new RegExp(`[/\\\\]${name}(\\.[jt]s)?$`).test(missing);
      if (!missingItself) loadErrors.push({ module: `cases/${name}`, error: e.stack ?? String(e) });
    }
  }
  return { cases, loadErrors };
}
