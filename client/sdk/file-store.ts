/// <reference types="node" />
// The offline queue in a file, for Node apps (`broadcasty/client/file-store`): one JSON array,
// rewritten whole through a temporary file and a rename, so a crash mid-write leaves the old
// queue or the new one, never half of one. Kept out of the SDK's main entry: browsers have no
// node:fs.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { OfflineStore, QueuedPublish } from './types.js';

export function fileStore(path: string): OfflineStore {
  let entries: QueuedPublish[] | undefined;
  const current = async (): Promise<QueuedPublish[]> => (entries ??= await read(path));
  const save = async (next: QueuedPublish[]): Promise<void> => {
    const temporary = `${path}.${process.pid}.tmp`;
    await mkdir(dirname(path), { recursive: true });
    await writeFile(temporary, JSON.stringify(next));
    await rename(temporary, path);
    entries = next;
  };
  return {
    load: async () => [...(await current())],
    add: async (entry) => save([...(await current()), entry]),
    remove: async (id) => save((await current()).filter((entry) => entry.id !== id)),
    clear: () => save([]),
  };
}

/** A missing file is an empty queue; a file that is not a JSON array is an error naming it (it is left as it is). */
async function read(path: string): Promise<QueuedPublish[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  let entries: unknown;
  try {
    entries = JSON.parse(text);
  } catch (error) {
    throw new Error(`offline queue file ${path} is not JSON (${(error as Error).message}); move it away to start with an empty queue`);
  }
  if (!Array.isArray(entries)) throw new Error(`offline queue file ${path} does not hold a JSON array; move it away to start with an empty queue`);
  return entries as QueuedPublish[];
}
