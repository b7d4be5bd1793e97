import { pino, type Logger } from 'pino';

export type { Logger };

/** Secrets never reach the log: redact every field that can carry one. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: undefined,
    redact: { paths: ['secret', '*.secret', 'apps[*].secret', 'auth', '*.auth', 'auth_signature'], censor: '[redacted]' },
  });
}
