// Random ids for idempotency keys, correlation ids and anti-replay nonces (docs/PROTOCOL.md §14.6:
// 8–128 characters of A-Za-z0-9_-). Web Crypto only, so the same code runs in browsers and Node.

/** 144 random bits: 18 bytes are 24 base64 characters without padding. */
const ID_BYTES = 18;

/** A url-safe random id (base64url, 24 characters). */
export function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(ID_BYTES));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_');
}
