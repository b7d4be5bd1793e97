// Shared pieces of "Invalid setting X: got V; what is allowed" messages for zod failures,
// used for config (file, env) and for app data from registries (apps file, SQL rows).

/** `apps[0].maxConnections` for ['apps', 0, 'maxConnections']. */
export function dottedPath(path: (string | number)[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').replace(/^\./, '');
}

/** The offending value as shown to the operator: JSON, or `nothing` when absent. */
export function gotValue(root: unknown, path: (string | number)[]): string {
  let value = root;
  for (const part of path) {
    if (typeof value !== 'object' || value === null) return 'nothing';
    value = (value as Record<string | number, unknown>)[part];
  }
  return value === undefined ? 'nothing' : JSON.stringify(value);
}
