// The offline queue in IndexedDB: database `name`, one object store whose keys are an
// auto-incremented sequence (so getAll() returns the entries in the order they were added, across
// reloads), with a unique index on the entry id for remove().
import type { OfflineStore, QueuedPublish } from '../types.js';

const ENTRIES = 'outbox';
const BY_ID = 'id';

export function indexedDbStore(factory: IDBFactory, name: string): OfflineStore {
  let opened: Promise<IDBDatabase> | undefined;
  const database = () => (opened ??= open(factory, name));
  const run = async <T>(mode: IDBTransactionMode, operation: (entries: IDBObjectStore) => IDBRequest<T> | undefined): Promise<T> => {
    const transaction = (await database()).transaction(ENTRIES, mode);
    const request = operation(transaction.objectStore(ENTRIES));
    await new Promise<void>((resolve, reject) => {
      transaction.oncomplete = () => resolve();
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error ?? new Error(`IndexedDB ${name}: transaction aborted`));
    });
    return request?.result as T;
  };
  return {
    load: () => run<QueuedPublish[]>('readonly', (entries) => entries.getAll()),
    add: async (entry) => {
      await run('readwrite', (entries) => entries.add(entry));
    },
    remove: async (id) => {
      await run('readwrite', (entries) => {
        const key = entries.index(BY_ID).getKey(id);
        key.onsuccess = () => {
          if (key.result !== undefined) entries.delete(key.result);
        };
        return undefined;
      });
    },
    clear: async () => {
      await run('readwrite', (entries) => entries.clear());
    },
  };
}

function open(factory: IDBFactory, name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = factory.open(name, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(ENTRIES, { autoIncrement: true }).createIndex(BY_ID, 'id', { unique: true });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
    request.onblocked = () => reject(new Error(`IndexedDB ${name}: blocked by another open version`));
  });
}
