// Deterministic generators of hostile input: the same --seed gives the same run, so a failure
// found in CI reproduces locally. Each generator returns text a real client never sends but an
// attacker can: wrong JSON types, nulls, huge and deeply nested values, names with odd characters.

/** mulberry32: small, fast, seedable; quality is irrelevant for fuzzing. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Rand = () => number;
export const pick = <T>(rand: Rand, list: readonly T[]): T => list[Math.floor(rand() * list.length)];

/** `[[[…]]]` nested `depth` levels: the shape that exhausts a recursive JSON walker's stack. */
export const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
export const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

const ODD_STRINGS = [
  '', ' ', 'null', '\u0000', '\ud800', '\udfff\ud800', '💥'.repeat(50), '#server-to-user-1', '#x', 'private-', 'presence-', 'private-encrypted-',
  'cache-', 'a'.repeat(165), 'a'.repeat(5000), '__proto__', 'constructor', 'toString', '../../etc', 'ch\nannel', 'ch annel', '%00', 'pusher:subscribe',
  'client-', 'client-x', 'pusher_internal:member_added', 'private-a,private-b', '𝒳'.repeat(100),
];
const ODD_VALUES: unknown[] = [null, true, false, 0, -0, 1e308, -1, 2 ** 53 + 1, 1.5, NaN, '', [], {}, [null], { __proto__: null }, 'x'.repeat(3000), ...ODD_STRINGS];
const EVENTS = [
  'pusher:subscribe', 'pusher:unsubscribe', 'pusher:ping', 'pusher:pong', 'pusher:signin', 'pusher:connection_established', 'pusher:error',
  'pusher_internal:subscription_succeeded', 'pusher:cache_miss', 'client-fuzz', 'client-', 'unknown', '', 'PUSHER:SUBSCRIBE', 'pusher:subscribe ',
];

function oddValue(rand: Rand, depth = 0): unknown {
  const r = rand();
  if (depth < 3 && r < 0.15) return Object.fromEntries(Array.from({ length: 1 + Math.floor(rand() * 4) }, () => [pick(rand, ODD_STRINGS), oddValue(rand, depth + 1)]));
  if (depth < 3 && r < 0.25) return Array.from({ length: Math.floor(rand() * 5) }, () => oddValue(rand, depth + 1));
  return pick(rand, ODD_VALUES);
}

/** A frame whose JSON is valid but whose shape is wrong somewhere (event, data, channel, auth…). */
function wrongShape(rand: Rand): string {
  const event = rand() < 0.8 ? pick(rand, EVENTS) : oddValue(rand);
  const r = rand();
  let data: unknown;
  if (r < 0.3) data = { channel: rand() < 0.5 ? pick(rand, ODD_STRINGS) : oddValue(rand), auth: oddValue(rand), channel_data: rand() < 0.5 ? oddValue(rand) : JSON.stringify(oddValue(rand)) };
  else if (r < 0.45) data = { auth: oddValue(rand), user_data: rand() < 0.5 ? JSON.stringify({ id: oddValue(rand), watchlist: oddValue(rand) }) : oddValue(rand) };
  else if (r < 0.6) data = JSON.stringify(oddValue(rand));
  else data = oddValue(rand);
  const frame: Record<string, unknown> = { event, data };
  if (rand() < 0.5) frame.channel = rand() < 0.5 ? pick(rand, ODD_STRINGS) : oddValue(rand);
  if (rand() < 0.1) frame.user_id = oddValue(rand);
  return JSON.stringify(frame) ?? 'undefined';
}

/** Not JSON at all, or JSON that is not an object. */
function notAnObject(rand: Rand): string {
  return pick(rand, [
    '', '{', '}', '{"event":', '[]', '[1,2]', 'null', 'true', '42', '"pusher:ping"', '{"event":"pusher:ping"', 'x'.repeat(1000), '\u0000\u0001\u0002',
    '{"event":"pusher:ping","data":{}}garbage', '{"event":"pusher:ping","event":"pusher:subscribe","data":{"channel":"dup-key"}}', '{"__proto__":{"event":"x"}}',
    '{"event":"pusher:subscribe","data":{"channel":"a","channel":"b"}}', '{"event":1e999}', '{"event":"\\ud800"}', ' \n\t{"event":"pusher:ping","data":{}}',
  ]);
}

/** Sizes at and past the limits: a frame near maxMessageBytes, data far past maxEventPayloadKb. */
function oversized(rand: Rand): string {
  const size = pick(rand, [10_241, 50_000, 99_000, 102_401, 150_000]);
  return JSON.stringify({ event: rand() < 0.5 ? 'client-big' : 'pusher:subscribe', channel: 'private-big', data: { channel: 'c', blob: 'x'.repeat(size) } });
}

function deep(rand: Rand): string {
  const depth = pick(rand, [100, 1000, 10_000]);
  const nested = rand() < 0.5 ? deepArray(depth) : deepObject(depth);
  return pick(rand, [`{"event":"pusher:subscribe","data":${nested}}`, `{"event":"client-deep","channel":"private-deep","data":${nested}}`, `{"event":${nested}}`, nested]);
}

/** The pool of text frames the frame-fuzz phase cycles through, built once per run. */
export function textPayloads(seed: number, count: number): string[] {
  const rand = rng(seed);
  return Array.from({ length: count }, () => {
    const r = rand();
    if (r < 0.8) return wrongShape(rand);
    if (r < 0.95) return notAnObject(rand);
    if (r < 0.98) return deep(rand);
    return oversized(rand);
  });
}
