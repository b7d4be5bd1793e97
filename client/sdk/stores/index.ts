// Where the offline queue lives in this runtime: IndexedDB when present and it opens, else
// localStorage, else memory (Node without a file store, private modes that refuse both).
import type { OfflineStore } from '../types.js';
import { indexedDbStore } from './indexeddb.js';
import { localStorageStore } from './local-storage.js';
import { memoryStore } from './memory.js';

export { memoryStore } from './memory.js';

/** auto: IndexedDB when present, else localStorage, else memory. `name` keeps two clients apart. */
export function offlineStore(kind: 'auto' | 'memory', name: string): OfflineStore {
  if (kind === 'memory') return memoryStore();
  const fallback = () => (usableLocalStorage() ? localStorageStore(localStorage, name) : memoryStore());
  return typeof indexedDB === 'undefined' ? fallback() : withFallback(indexedDbStore(indexedDB, name), fallback);
}

/** localStorage throws on access in some sandboxed frames and privacy modes. */
function usableLocalStorage(): boolean {
  try {
    return typeof localStorage !== 'undefined' && localStorage !== null;
  } catch {
    return false;
  }
}

/** Uses `primary` unless its first load fails (IndexedDB refused to open), then `fallback()` for good. */
function withFallback(primary: OfflineStore, fallback: () => OfflineStore): OfflineStore {
  let chosen: Promise<OfflineStore> | undefined;
  const store = () =>
    (chosen ??= primary.load().then(
      () => primary,
      () => fallback(),
    ));
  return {
    load: async () => (await store()).load(),
    add: async (entry) => (await store()).add(entry),
    remove: async (id) => (await store()).remove(id),
    clear: async () => (await store()).clear(),
  };
}
