// Builds the resume plugin (client/resume.ts) for the package and for <script> tags:
//   dist/client/resume.js          ESM, what `import { withResume } from 'broadcasty/resume'` loads
//   dist/client/resume.d.ts        its types (tsc -p client/tsconfig.json)
//   dist/browser/broadcasty-resume.js  one IIFE file exposing window.BroadcastyResume
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// pusher-js still supports browsers without ES2020 syntax; so does the plugin.
const common = { entryPoints: [join(root, 'client/resume.ts')], bundle: true, target: 'es2017', legalComments: 'none', logLevel: 'warning' };

await build({ ...common, format: 'esm', outfile: join(root, 'dist/client/resume.js') });
await build({ ...common, format: 'iife', globalName: 'BroadcastyResume', outfile: join(root, 'dist/browser/broadcasty-resume.js') });
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'client/tsconfig.json')], { stdio: 'inherit' });
