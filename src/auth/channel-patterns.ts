// Channel patterns of history rules, shared channels and RBAC rules (docs/PROTOCOL.md §13.1,
// §14.4): `*` is any run of characters, `{sub}`/`{tid}` the principal's claims taken literally,
// so a claim of `*` or `.` never widens a pattern. A pattern is compiled once and matched by
// its literal runs between `*`s, so a rule with placeholders costs no RegExp per principal.

export interface PatternValues {
  sub?: string;
  tid?: string;
}

export interface ChannelPattern {
  /** Whether the channel matches; a placeholder without a value matches itself literally. */
  test(channel: string, values?: PatternValues): boolean;
}

const PLACEHOLDERS = /(\{sub\}|\{tid\})/;

function hasPlaceholders(pattern: string): boolean {
  return pattern.includes('{sub}') || pattern.includes('{tid}');
}

export function compilePattern(pattern: string): ChannelPattern {
  if (!hasPlaceholders(pattern)) {
    const runs = pattern.split('*');
    return { test: (channel) => globMatches(channel, runs) };
  }
  // Each run between `*`s as its fixed text and placeholders, filled in per test.
  const parts = pattern.split('*').map((run) => run.split(PLACEHOLDERS));
  return {
    test(channel, values = {}) {
      const runs = parts.map((run) => run.map((part) => (part === '{sub}' ? (values.sub ?? part) : part === '{tid}' ? (values.tid ?? part) : part)).join(''));
      return globMatches(channel, runs);
    },
  };
}

/**
 * `runs` joined by `*`s matches `text`: the first run is a prefix, the last a suffix, and the
 * ones between occur in order without overlapping; with only `*` as a wildcard the leftmost
 * occurrence of each is always as good as any later one.
 */
function globMatches(text: string, runs: readonly string[]): boolean {
  const first = runs[0];
  if (runs.length === 1) return text === first;
  const last = runs[runs.length - 1];
  const end = text.length - last.length;
  if (end < first.length || !text.startsWith(first) || !text.endsWith(last)) return false;
  let at = first.length;
  for (let i = 1; i < runs.length - 1; i++) {
    const found = text.indexOf(runs[i], at);
    if (found === -1 || found + runs[i].length > end) return false;
    at = found + runs[i].length;
  }
  return true;
}
