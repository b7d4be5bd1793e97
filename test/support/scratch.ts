// Temporary directories of one test process, removed when it exits however the tests ended.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];
process.on('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

export function scratchDir(purpose: string): string {
  const dir = mkdtempSync(join(tmpdir(), `broadcasty-${purpose}-`));
  made.push(dir);
  return dir;
}
