// The running Broadcasty's version, from its package.json.
import { readFileSync } from 'node:fs';

/** Both the compiled (dist/src/) and the tsx (src/) layouts find package.json above. */
export function packageVersion(): string {
  for (const relative of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'broadcasty') return pkg.version ?? 'unknown';
    } catch {
      // not at this level
    }
  }
  return 'unknown';
}
