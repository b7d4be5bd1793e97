// Chromium for the browser tests: the system's build through playwright-core (`npx playwright
// install` cannot work here), a fresh profile per launch, and a page server on another origin.
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type BrowserContext } from 'playwright-core';
import { scratchDir } from './scratch.js';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** For describe()'s `skip`: why the browser tests cannot run here, or false. */
export const chromiumMissing: string | false = existsSync(CHROMIUM) ? false : 'chromium not installed (apt-get install chromium)';

export function launchChromium(): Promise<BrowserContext> {
  return chromium.launchPersistentContext(scratchDir('chromium'), { executablePath: CHROMIUM, headless: true, args: FLAGS });
}

export interface Site {
  /** `http://127.0.0.1:<port>`, the pages' origin. */
  origin: string;
  close(): void;
}

/**
 * Serves a site on a free port: each path is a file (`/` as HTML, the others as JavaScript) or
 * a handler of its own; anything else is 404.
 */
export async function serveSite(paths: Record<string, string | ((req: IncomingMessage, res: ServerResponse, url: URL) => void)>): Promise<Site> {
  const server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://site');
    const entry = paths[url.pathname];
    if (typeof entry === 'function') return entry(req, res, url);
    res.writeHead(entry === undefined ? 404 : 200, { 'content-type': url.pathname === '/' ? 'text/html' : 'text/javascript' });
    res.end(entry ?? '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}
