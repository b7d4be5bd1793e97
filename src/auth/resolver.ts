// An app's policy resolver module (docs/PROTOCOL.md §14.4): imported once per path, kept for the
// process; `partitions` is then available synchronously to history/rules.ts.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PolicyAction } from '../config/schema.js';

export interface PolicyResolver {
  authorize(tenant: string, channel: string, userId: string, roles: string[], action: PolicyAction): unknown;
  partitions?(tenant: string, channel: string): unknown;
}

const loading = new Map<string, Promise<PolicyResolver>>();
const loaded = new Map<string, PolicyResolver>();

/** Imports the module (a path relative to the working directory, or a file: URL); rejects with what is wrong. */
export function loadResolver(path: string): Promise<PolicyResolver> {
  let module = loading.get(path);
  if (module === undefined) {
    const url = path.startsWith('file:') ? path : pathToFileURL(resolve(path)).href;
    module = import(url).then((exports: Record<string, unknown>) => {
      const resolver = (exports.authorize === undefined && typeof exports.default === 'object' ? exports.default : exports) as Partial<PolicyResolver>;
      if (typeof resolver.authorize !== 'function') throw new Error('the module exports no authorize(tenant, channel, userId, roles, action) function');
      if (resolver.partitions !== undefined && typeof resolver.partitions !== 'function') throw new Error('partitions is exported but is not a function');
      loaded.set(path, resolver as PolicyResolver);
      return resolver as PolicyResolver;
    });
    loading.set(path, module);
    // A failed import is tried again next time (the file may be fixed without a restart).
    module.catch(() => loading.delete(path));
  }
  return module;
}

/** The module if it has finished loading (it is loaded at start by checkJwtSettings). */
export function loadedResolver(path: string): PolicyResolver | undefined {
  return loaded.get(path);
}
