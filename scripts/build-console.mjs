// Builds the debug console (console/) into dist/console/, which the server serves at consolePath:
//   dist/console/console.js    console/main.ts and its modules, one minified ES2020 file
//   dist/console/index.html, dist/console/console.css   copied as they are
// `node scripts/build-console.mjs` builds; tests import buildConsole() and call it.
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'console');

/** Builds into `outDir` (default dist/console) and answers the bundle's path. */
export async function buildConsole(outDir = join(root, 'dist/console')) {
  await mkdir(outDir, { recursive: true });
  const outfile = join(outDir, 'console.js');
  await build({ entryPoints: [join(source, 'main.ts')], bundle: true, minify: true, format: 'esm', target: 'es2020', legalComments: 'none', logLevel: 'warning', outfile });
  await Promise.all(['index.html', 'console.css'].map((file) => copyFile(join(source, file), join(outDir, file))));
  return outfile;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await buildConsole();
