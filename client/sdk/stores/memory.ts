// The offline queue in memory: gone with the page or process (the fallback when nothing persists).
import type { OfflineStore, QueuedPublish } from '../types.js';

export function memoryStore(): OfflineStore {
  let entries: QueuedPublish[] = [];
  return {
    load: async () => [...entries],
    add: async (entry) => {
      entries.push(entry);
    },
    remove: async (id) => {
      entries = entries.filter((entry) => entry.id !== id);
    },
    clear: async () => {
      entries = [];
    },
  };
}
