// Turns a zod failure on app data (apps file, SQL row) into lines that name where the app came
// from, the field, the value found and what is allowed — the same shape as config errors.
import type { z } from 'zod';

function valueAt(root: unknown, path: (string | number)[]): unknown {
  let value = root;
  for (const part of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string | number, unknown>)[part];
  }
  return value;
}

/** `dotted` maps an issue path to the name the operator sees (e.g. a SQL column). */
export function describeAppIssues(
  error: z.ZodError,
  raw: unknown,
  where: string,
  dotted: (path: (string | number)[]) => string = defaultDotted,
): string {
  return error.issues
    .map((issue) => {
      const value = valueAt(raw, issue.path);
      const got = value === undefined ? 'nothing' : JSON.stringify(value);
      return `Invalid app in ${where}: ${dotted(issue.path)}: got ${got}; ${issue.message}`;
    })
    .join('\n');
}

export function defaultDotted(path: (string | number)[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').replace(/^\./, '');
}
