// Channel-name grammar and prefix → kind table (docs/PROTOCOL.md §3). Prefixes are matched
// anchored at position 0, longest first, so `foo-private-x` is public.

export type ChannelKind = 'public' | 'private' | 'presence' | 'encrypted' | 'server-to-user' | 'reserved';

export interface ChannelType {
  kind: ChannelKind;
  /** Last HTTP-published event is replayed to new subscribers (cache channels). */
  cache: boolean;
}

const PREFIXES: ReadonlyArray<readonly [string, ChannelType]> = [
  ['private-encrypted-cache-', { kind: 'encrypted', cache: true }],
  ['private-encrypted-', { kind: 'encrypted', cache: false }],
  ['private-cache-', { kind: 'private', cache: true }],
  ['private-', { kind: 'private', cache: false }],
  ['presence-cache-', { kind: 'presence', cache: true }],
  ['presence-', { kind: 'presence', cache: false }],
  ['cache-', { kind: 'public', cache: true }],
  ['#server-to-user-', { kind: 'server-to-user', cache: false }],
  ['#', { kind: 'reserved', cache: false }],
];

const PUBLIC: ChannelType = { kind: 'public', cache: false };

export function channelType(name: string): ChannelType {
  for (const [prefix, type] of PREFIXES) if (name.startsWith(prefix)) return type;
  return PUBLIC;
}

/** The name after its kind prefix (`private-cache-tenant.a.x` → `tenant.a.x`). */
export function withoutKindPrefix(name: string): string {
  for (const [prefix] of PREFIXES) if (name.startsWith(prefix)) return name.slice(prefix.length);
  return name;
}

export const SERVER_TO_USER_PREFIX = '#server-to-user-';

export function serverToUserChannel(userId: string): string {
  return SERVER_TO_USER_PREFIX + userId;
}

const NAME = /^#?[-a-zA-Z0-9_=@,.;]+$/;

/** Returns null when valid, else the reason. */
export function channelNameError(name: unknown, maxLength: number): string | null {
  if (typeof name !== 'string' || name.length === 0) return 'Channel name is required';
  if (name.length > maxLength) return `Channel name too long (max ${maxLength} characters): ${name.slice(0, 40)}…`;
  if (!NAME.test(name)) return `Invalid channel name ${name}: allowed characters are [-a-zA-Z0-9_=@,.;]`;
  return null;
}

/** Channels whose subscription requires a signature from the app's auth endpoint. */
export function requiresSignature(kind: ChannelKind): boolean {
  return kind === 'private' || kind === 'presence' || kind === 'encrypted';
}

export const SOCKET_ID = /^\d+\.\d+$/;
