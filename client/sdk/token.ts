// What the SDK reads of the app's JWT without verifying it (the server verifies, docs/PROTOCOL.md
// §14.2): `sub` and `tid`, for the default reply channel of request() and to tell whose queued
// publishes are whose.

export function claimsOf(token: string | null): { sub?: unknown; tid?: unknown } {
  const payload = token?.split('.')[1];
  if (payload === undefined) return {};
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
    const json = new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
    const claims: unknown = JSON.parse(json);
    return typeof claims === 'object' && claims !== null ? (claims as { sub?: unknown; tid?: unknown }) : {};
  } catch {
    return {};
  }
}

/** `private-tenant.{tid}.replies.{sub}`, or `private-replies.{sub}` for a token without `tid`. */
export function defaultReplyChannel(token: string | null): string {
  const { sub, tid } = claimsOf(token);
  if (typeof sub !== 'string' || sub === '') throw new Error('request() needs a reply channel: pass options.replyChannel, or a getToken() whose JWT has a `sub` claim');
  return typeof tid === 'string' && tid !== '' ? `private-tenant.${tid}.replies.${sub}` : `private-replies.${sub}`;
}

/** Who the token speaks for (tid and sub), or undefined for no token or one without `sub`. */
export function subjectOf(token: string | null): string | undefined {
  const { sub, tid } = claimsOf(token);
  if (typeof sub !== 'string' || sub === '') return undefined;
  return JSON.stringify([typeof tid === 'string' ? tid : null, sub]);
}
