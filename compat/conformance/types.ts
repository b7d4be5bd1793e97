// The contract between the conformance runner and its case files.
// Case files export `cases: Case[]`; the runner collects them, runs each with a
// fresh context, and prints one line per case.

export interface Target {
  host: string;
  port: number;
  tls: boolean;
  /** Path prefix in front of /app/{key} and /apps/{id} (pusher-js `wsPath`). */
  pathPrefix: string;
  appId: string;
  key: string;
  secret: string;
  /**
   * Optional values for cases that need server configuration the suite cannot set
   * (a disabled app, an app with a connection quota, webhooks, ...). A case that needs
   * one that is absent is skipped with a reason naming the option.
   */
  options: Record<string, string | undefined>;
}

export interface CaseContext {
  target: Target;
  /** Registers teardown (close sockets, stop listeners); run after the case, even on failure. */
  cleanup(fn: () => unknown | Promise<unknown>): void;
  /** Directory for artefacts (screenshots, logs). */
  outDir: string;
}

export interface Case {
  /** docs/PROTOCOL.md §10 item number (1-123). */
  id: number;
  title: string;
  /** Target.options keys this case needs; missing → skipped with a reason. */
  requires?: string[];
  /** Per-case time limit in ms (default 15000). */
  timeoutMs?: number;
  run(ctx: CaseContext): Promise<void>;
}

/** Thrown by a case to skip itself with a reason (e.g. Chromium is absent). */
export class Skip extends Error {}
