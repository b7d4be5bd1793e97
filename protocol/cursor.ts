// Cursors (docs/PROTOCOL.md §15.4): the resume cursor an SSE stream puts in `id:` and a poll
// cursor carries, `{channel}:{partition}:{epoch}:{offset}` per history stream, comma-separated;
// and the poll cursor `{session}~{delivered}~{resume cursor}`. The server parses and writes them,
// the client SDK writes the cursor it resumes from. No imports: browser bundles take it as it is.

/** Where a client stands in one history stream. */
export interface StreamPoint {
  channel: string;
  partition: number;
  epoch: string;
  offset: number;
}

/** The limits of `resume` (§13.3): 64 partitions, an epoch of 1–64 characters. */
export const MAX_CURSOR_ENTRIES = 64;
const MAX_EPOCH = 64;
const DIGITS = /^\d{1,16}$/;

/** The points of a resume cursor ('' = none), or what is wrong with it. */
export function parseCursor(text: string): StreamPoint[] | string {
  if (text === '') return [];
  const entries = text.split(',');
  if (entries.length > MAX_CURSOR_ENTRIES) return `more than ${MAX_CURSOR_ENTRIES} positions`;
  const points: StreamPoint[] = [];
  const seen = new Set<string>();
  for (const entry of entries) {
    const parts = entry.split(':');
    if (parts.length !== 4) return `position "${entry.slice(0, 100)}" is not {channel}:{partition}:{epoch}:{offset}`;
    const [channel, partition, epoch, offset] = [decoded(parts[0]!), integer(parts[1]!), decoded(parts[2]!), integer(parts[3]!)];
    if (channel === undefined || channel === '') return `position "${entry.slice(0, 100)}" has no channel`;
    if (partition === undefined || partition >= MAX_CURSOR_ENTRIES) return `position "${entry.slice(0, 100)}": the partition must be an integer 0–${MAX_CURSOR_ENTRIES - 1}`;
    if (epoch === undefined || epoch === '' || epoch.length > MAX_EPOCH) return `position "${entry.slice(0, 100)}": the epoch must be 1–${MAX_EPOCH} characters`;
    if (offset === undefined) return `position "${entry.slice(0, 100)}": the offset must be an integer ≥ 0`;
    const key = `${channel}\u0000${partition}`;
    if (seen.has(key)) return `position "${entry.slice(0, 100)}" repeats partition ${partition} of ${channel}`;
    seen.add(key);
    points.push({ channel, partition, epoch, offset });
  }
  return points;
}

export function formatCursor(points: Iterable<StreamPoint>): string {
  let text = '';
  for (const p of points) text += `${text === '' ? '' : ','}${encodeURIComponent(p.channel)}:${p.partition}:${encodeURIComponent(p.epoch)}:${p.offset}`;
  return text;
}

/** A poll cursor: `{session}~{delivered}~{resume cursor}`. */
export interface PollCursor {
  session: string;
  delivered: number;
  points: StreamPoint[];
}

const SESSION_ID = /^[0-9a-f]{16}$/;

export function parsePollCursor(text: string): PollCursor | string {
  const first = text.indexOf('~');
  const second = first === -1 ? -1 : text.indexOf('~', first + 1);
  if (second === -1) return 'not {session}~{delivered}~{positions}';
  const session = text.slice(0, first);
  if (!SESSION_ID.test(session)) return 'the session id must be 16 hex characters';
  const delivered = integer(text.slice(first + 1, second));
  if (delivered === undefined) return 'the delivered count must be an integer ≥ 0';
  const points = parseCursor(text.slice(second + 1));
  return typeof points === 'string' ? points : { session, delivered, points };
}

/** `resumeCursor` is formatCursor's text of the session's positions. */
export const formatPollCursor = (session: string, delivered: number, resumeCursor: string): string => `${session}~${delivered}~${resumeCursor}`;

function integer(text: string): number | undefined {
  if (!DIGITS.test(text)) return undefined;
  const value = Number(text);
  return value <= Number.MAX_SAFE_INTEGER ? value : undefined;
}

function decoded(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
