// Channel patterns of history rules, shared channels and RBAC rules (docs/PROTOCOL.md §13.1,
// §14.4): `*` is any run of characters, `{sub}`/`{tid}` the principal's claims taken literally,
// so a claim of `*` or `.` never widens a pattern.

export interface PatternValues {
  sub?: string;
  tid?: string;
}

const TOKENS = /(\*|\{sub\}|\{tid\})/;

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function hasPlaceholders(pattern: string): boolean {
  return pattern.includes('{sub}') || pattern.includes('{tid}');
}

/** The pattern as an anchored RegExp; a placeholder without a value is matched literally. */
export function patternRegExp(pattern: string, values: PatternValues = {}): RegExp {
  const source = pattern
    .split(TOKENS)
    .map((part) => {
      if (part === '*') return '.*';
      if (part === '{sub}' && values.sub !== undefined) return escape(values.sub);
      if (part === '{tid}' && values.tid !== undefined) return escape(values.tid);
      return escape(part);
    })
    .join('');
  return new RegExp(`^${source}$`, 's');
}
