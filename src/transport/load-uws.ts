// Finds a native uWebSockets.js build this host can run. Builds are per platform, Node ABI and
// glibc: the upstream-layout v20.57.0 build ("uWebSockets.js", Node 20/22/24/25) needs glibc ≥ 2.38;
// the trufflesuite v20.30 build ("uws-trufflesuite") runs on older glibc but only on Node ≤ 20.
// Each binary is required directly: trufflesuite's own loader silently swaps in a JavaScript
// stand-in whose publish() throws "Not implemented", which must never serve traffic.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as uWS from 'uWebSockets.js';

export type UwsModule = typeof uWS;

export interface LoadedUws {
  uws: UwsModule;
  /** Which build loaded, for the start line. */
  build: string;
}

const require = createRequire(import.meta.url);
const binaryName = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;

/** [package as installed, binary path relative to its main file, description]. */
const CANDIDATES: [string, string, string][] = [
  ['uWebSockets.js', binaryName, 'uWebSockets.js v20.57'],
  ['uws-trufflesuite', `../binaries/${binaryName}`, 'uWebSockets.js v20.30 (trufflesuite build)'],
];

/** Every method src/transport/uws.ts calls; a build lacking one is not used. */
const REQUIRED_APP_METHODS = ['ws', 'any', 'listen', 'publish', 'numSubscribers'] as const;
const REQUIRED_EXPORTS = ['App', 'SSLApp', 'us_listen_socket_close', 'us_socket_local_port', 'DISABLED', 'LIBUS_LISTEN_EXCLUSIVE_PORT'] as const;

/** The first candidate that loads and has our API, or why none did. */
export function loadNativeUws(): LoadedUws | { failure: string } {
  const failures: string[] = [];
  for (const [pkg, binary, build] of CANDIDATES) {
    let uws: UwsModule;
    try {
      // The main file, not package.json: v20.57's "exports" hides package.json.
      const dir = dirname(require.resolve(pkg));
      uws = require(join(dir, binary)) as UwsModule;
    } catch (error) {
      failures.push(`${build}: ${firstLine(error)}`);
      continue;
    }
    const missing = apiGaps(uws);
    if (missing.length > 0) failures.push(`${build}: lacks ${missing.join(', ')}`);
    else return { uws, build };
  }
  return { failure: failures.join('; ') };
}

function apiGaps(uws: UwsModule): string[] {
  const gaps: string[] = REQUIRED_EXPORTS.filter((name) => (uws as unknown as Record<string, unknown>)[name] === undefined);
  if (typeof uws.App !== 'function') return gaps;
  const app = uws.App() as unknown as Record<string, unknown>;
  for (const method of REQUIRED_APP_METHODS) if (typeof app[method] !== 'function') gaps.push(`App.${method}`);
  (app as unknown as uWS.TemplatedApp).close?.();
  return gaps;
}

/** The reason in a few words: a missing binary for this Node, or the glibc it needs. */
function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') {
    return `no binary for Node ${process.version} (ABI ${process.versions.modules})`;
  }
  const glibc = /GLIBC_([\d.]+)/.exec(text);
  if (glibc !== null) return `needs glibc ${glibc[1]}, this host has ${hostGlibc()}`;
  return text.split('\n')[0] ?? 'failed to load';
}

function hostGlibc(): string {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime ?? 'an older one';
}
