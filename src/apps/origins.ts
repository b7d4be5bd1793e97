/**
 * Whether a page's `Origin` may use an app: the WebSocket handshake (docs/PROTOCOL.md §1.2, 4009) and
 * the HTTP API's CORS (§5) read the same `allowedOrigins`. A pattern is `*`, an exact origin
 * (`https://app.example`), a host (`app.example`, any scheme) or `*.example.com` (subdomains).
 */
export function originAllowed(allowed: string[], origin: string): boolean {
  if (allowed.includes('*')) return true;
  const host = origin.replace(/^[a-z]+:\/\//i, '');
  return allowed.some((pattern) => pattern === origin || pattern === host || (pattern.startsWith('*.') && host.endsWith(pattern.slice(1))));
}
