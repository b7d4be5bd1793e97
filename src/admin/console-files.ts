// The console's static files (docs/PROTOCOL.md §17.1): dist/console/ as scripts/build-console.mjs
// builds it, found from the package root both under tsx (src/admin/) and when built (dist/src/admin/).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsonError, text } from '../api/reply.js';
import type { HttpReply } from '../transport/types.js';

/** Path after consolePath → file and content type. */
const FILES: Record<string, { file: string; type: string }> = {
  '': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/console.js': { file: 'console.js', type: 'text/javascript; charset=utf-8' },
  '/console.css': { file: 'console.css', type: 'text/css; charset=utf-8' },
};

/** frame-ancestors and X-Frame-Options (for browsers without CSP 2): no page can frame the console and click it for its user. */
const HEADERS = {
  'Cache-Control': 'no-cache',
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'self'; connect-src 'self'; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
};

const NOT_BUILT = 'the console is not built: run npm run build';

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) return dirname(fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
}

export class ConsoleFiles {
  constructor(
    private readonly consolePath: string,
    /** The server's pathPrefix: the page names its files and the API from the root. */
    private readonly pathPrefix: string,
    private readonly dir = join(packageRoot(), 'dist', 'console'),
  ) {}

  serve(method: string, rest: string): HttpReply {
    const entry = Object.hasOwn(FILES, rest) ? FILES[rest] : undefined;
    if (entry === undefined) return jsonError(404, `Not found: ${this.consolePath}${rest}`);
    if (method !== 'GET' && method !== 'HEAD') return jsonError(405, `Method ${method} not allowed on ${this.consolePath}${rest}`);
    const body = this.read(entry.file);
    if (body === undefined) return { ...text(503, NOT_BUILT), headers: { 'Cache-Control': 'no-cache' } };
    return { status: 200, body, contentType: entry.type, headers: HEADERS };
  }

  /** Read on every request: three small files, loaded once per console session, and a rebuild shows without a restart. */
  private read(file: string): string | undefined {
    const path = join(this.dir, file);
    if (!existsSync(path)) return undefined;
    const body = readFileSync(path, 'utf8');
    // The page is reached as {consolePath} and as {consolePath}/: relative URLs cannot serve both.
    return file === 'index.html' ? body.replaceAll('{{console}}', this.pathPrefix + this.consolePath).replaceAll('{{admin}}', `${this.pathPrefix}/admin`) : body;
  }
}
