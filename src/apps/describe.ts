// Turns a zod failure on app data (apps file, SQL row) into lines that name where the app came
// from, the field, the value found and what is allowed — the same shape as config errors.
import type { z } from 'zod';
import { dottedPath, gotValue } from '../config/issues.js';

/** `dotted` maps an issue path to the name the operator sees (e.g. a SQL column). */
export function describeAppIssues(
  error: z.ZodError,
  raw: unknown,
  where: string,
  dotted: (path: (string | number)[]) => string = dottedPath,
): string {
  return error.issues
    .map((issue) => {
      return `Invalid app in ${where}: ${dotted(issue.path)}: got ${gotValue(raw, issue.path)}; ${issue.message}`;
    })
    .join('\n');
}
