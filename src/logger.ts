import { destination, pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

const LEVELS: Record<number, { name: string; colour: number }> = {
  10: { name: 'TRACE', colour: 90 },
  20: { name: 'DEBUG', colour: 36 },
  30: { name: 'INFO ', colour: 32 },
  40: { name: 'WARN ', colour: 33 },
  50: { name: 'ERROR', colour: 31 },
  60: { name: 'FATAL', colour: 35 },
};

/** Fields every line has; the rest are printed as key=value after the message. */
const FRAME_FIELDS = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

/**
 * One readable line per log record for a terminal: `12:00:01.234 DEBUG subscribed app=42 …`,
 * coloured unless NO_COLOR is set. Off the hot path: only a TTY gets it, and debug lines are
 * per connection or per publish, never per delivered message.
 */
export function prettyLine(json: string, colour: boolean): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const level = LEVELS[record.level as number] ?? { name: String(record.level), colour: 0 };
  const time = new Date(record.time as number).toISOString().slice(11, 23);
  const fields = Object.entries(record)
    .filter(([key]) => !FRAME_FIELDS.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' && !/\s/.test(value) ? value : JSON.stringify(value)}`)
    .join(' ');
  const paint = (code: number, text: string) => (colour ? `\x1b[${code}m${text}\x1b[0m` : text);
  return `${paint(90, time)} ${paint(level.colour, level.name)} ${record.msg ?? ''}${fields ? ` ${paint(90, fields)}` : ''}\n`;
}

function prettyStdout(): DestinationStream {
  const colour = process.env.NO_COLOR === undefined;
  return { write: (line: string) => void process.stdout.write(prettyLine(line, colour)) };
}

/**
 * JSON lines for log collectors; readable lines when stdout is a terminal. Secrets never reach
 * the log: every field that can carry one is redacted.
 */
export function createLogger(level: string, options: { pretty?: boolean } = {}): Logger {
  const pretty = options.pretty ?? process.stdout.isTTY === true;
  return pino(
    {
      level,
      base: undefined,
      redact: { paths: ['secret', '*.secret', 'apps[*].secret', 'auth', '*.auth', 'auth_signature'], censor: '[redacted]' },
    },
    pretty ? prettyStdout() : destination({ dest: 1, sync: true }),
  );
}
