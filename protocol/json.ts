// Parsing JSON that comes from clients. V8's JSON.parse accepts any nesting depth, but every
// later walk of the value (JSON.stringify, zod) recurses and overflows the stack on deep input:
// a client could turn each frame or request into a RangeError. The depth is bounded on the text,
// before parsing, so nothing deep is ever built.

/** Deeper than any payload the SDKs produce; far below where a recursive walk runs out of stack. */
export const MAX_JSON_DEPTH = 64;

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** True when objects/arrays in `text` nest deeper than `maxDepth` (brackets inside strings do not count). */
export function jsonTooDeep(text: string, maxDepth = MAX_JSON_DEPTH): boolean {
  // Nesting deeper than maxDepth needs more than maxDepth opening brackets; counting them with
  // indexOf (native) settles nearly every real frame without the character-by-character scan.
  if (countUpTo(text, '{', maxDepth + 1) + countUpTo(text, '[', maxDepth + 1) <= maxDepth) return false;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) i = closingQuote(text, i);
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return false;
}

function countUpTo(text: string, char: string, limit: number): number {
  let count = 0;
  for (let i = text.indexOf(char); i !== -1 && count < limit; i = text.indexOf(char, i + 1)) count++;
  return count;
}

/** Index of the quote that ends the string opening at `open` (one preceded by an even run of backslashes). */
function closingQuote(text: string, open: number): number {
  let quote = text.indexOf('"', open + 1);
  while (quote !== -1) {
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote;
    quote = text.indexOf('"', quote + 1);
  }
  return text.length;
}

export type JsonParse = { ok: true; value: unknown } | { ok: false; message: string };

/** JSON.parse for client input: a bounded depth, and a message instead of an exception. */
export function parseClientJson(text: string, what: string): JsonParse {
  if (jsonTooDeep(text)) return { ok: false, message: `${what} nests deeper than ${MAX_JSON_DEPTH} levels` };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, message: `${what} is not valid JSON` };
  }
}
