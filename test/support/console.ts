// The console's files (dist/console/) as the server serves them: tests run from source, so a
// test that loads the page or its files builds them first (esbuild, well under a second).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(import.meta.dirname, '..', '..');

export async function buildConsoleFiles(): Promise<void> {
  await promisify(execFile)(process.execPath, [join(ROOT, 'scripts/build-console.mjs')]);
}
