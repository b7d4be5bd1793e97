// Builds the client code for the package and for <script> tags:
//   dist/client/resume.js              ESM, what `import { withResume } from 'broadcasty/resume'` loads
//   dist/browser/broadcasty-resume.js  one IIFE file exposing window.BroadcastyResume
//   dist/client/sdk/index.js           ESM, the SDK: `import { BroadcastyClient } from 'broadcasty/client'`
//   dist/client/sdk/file-store.js      ESM for Node: `import { fileStore } from 'broadcasty/client/file-store'`
//   dist/browser/broadcasty.js         the SDK minified as one IIFE file exposing window.Broadcasty
//   dist/client/**/*.d.ts              the types (tsc -p client/tsconfig.json)
// and prints the browser file's size minified and gzipped.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// pusher-js still supports browsers without ES2020 syntax; so do the plugin and the SDK.
const common = { bundle: true, target: 'es2017', legalComments: 'none', logLevel: 'warning' };
const resume = { ...common, entryPoints: [join(root, 'client/resume.ts')] };
const sdk = { ...common, entryPoints: [join(root, 'client/sdk/index.ts')] };
const browserFile = join(root, 'dist/browser/broadcasty.js');

await build({ ...resume, format: 'esm', outfile: join(root, 'dist/client/resume.js') });
await build({ ...resume, format: 'iife', globalName: 'BroadcastyResume', outfile: join(root, 'dist/browser/broadcasty-resume.js') });
await build({ ...sdk, format: 'esm', outfile: join(root, 'dist/client/sdk/index.js') });
await build({ ...sdk, format: 'iife', globalName: 'Broadcasty', platform: 'browser', minify: true, outfile: browserFile });
await build({ ...common, entryPoints: [join(root, 'client/sdk/file-store.ts')], format: 'esm', platform: 'node', outfile: join(root, 'dist/client/sdk/file-store.js') });
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'client/tsconfig.json')], { stdio: 'inherit' });

const bytes = readFileSync(browserFile);
console.log(`dist/browser/broadcasty.js: ${(bytes.length / 1024).toFixed(1)} KB minified, ${(gzipSync(bytes, { level: 9 }).length / 1024).toFixed(1)} KB gzipped`);
