// One audit entry per audited Activity (docs/PROTOCOL.md §17.4): the columns every kind shares,
// and the rest of the activity under `detail`. The published data is kept only with
// audit.payloads: by default the log says who sent what where and how big, not what it said.
import type { Activity, ActivityKind } from '../activity/types.js';

export interface AuditEntry {
  /** ISO 8601, UTC, milliseconds. */
  at: string;
  app_id: string | null;
  kind: ActivityKind;
  actor: string | null;
  channel: string | null;
  event: string | null;
  bytes: number | null;
  /** What the kind has beyond the columns: surface/reason/ip, action/target, userId, source… */
  detail: Record<string, unknown>;
}

/** Fields of an Activity that have their own column (or none, for `data`). */
interface Columns {
  at: number;
  kind: ActivityKind;
  appId?: string;
  actor?: string;
  channel?: string;
  event?: string;
  bytes?: number;
  data?: string;
}

export function auditEntry(activity: Activity, payloads: boolean): AuditEntry {
  const { at, kind, appId, actor, channel, event, bytes, data, ...detail } = activity as unknown as Columns & Record<string, unknown>;
  if (payloads && data !== undefined) detail.data = data;
  return {
    at: new Date(at).toISOString(),
    app_id: appId ?? null,
    kind,
    actor: actor ?? null,
    channel: channel ?? null,
    event: event ?? null,
    bytes: bytes ?? null,
    detail,
  };
}

/** One JSON line per entry, each ending in a newline: the stdout and file sinks' batch. */
export const jsonLines = (entries: readonly AuditEntry[]): string => entries.map((entry) => `${JSON.stringify(entry)}\n`).join('');
