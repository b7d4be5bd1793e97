// The offline queue as one JSON array under the key `name`: synchronous and small-quota, so
// the fallback for browsers without a usable IndexedDB. Each operation reads and rewrites the array.
import type { OfflineStore, QueuedPublish } from '../types.js';

export function localStorageStore(storage: Storage, name: string): OfflineStore {
  const read = (): QueuedPublish[] => JSON.parse(storage.getItem(name) ?? '[]') as QueuedPublish[];
  const write = (entries: QueuedPublish[]) => (entries.length === 0 ? storage.removeItem(name) : storage.setItem(name, JSON.stringify(entries)));
  return {
    load: async () => read(),
    add: async (entry) => write([...read(), entry]),
    remove: async (id) => write(read().filter((entry) => entry.id !== id)),
    clear: async () => write([]),
  };
}
