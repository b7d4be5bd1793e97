// GET /admin/apps/{id}/tap (docs/PROTOCOL.md §17.2): the app's activity as an SSE stream, framed
// as the SSE transport frames its events (sessions/sse.ts): `retry` first, `: heartbeat` comments
// from the server's 1 s sweep (AdminNode.tick), as HTTP sessions get theirs.
import { ACTIVITY_KINDS, type ActivityKind } from '../activity/types.js';
import { HttpError } from '../api/reply.js';
import { HEADERS, RETRY } from '../sessions/sse.js';
import type { AdminEndpoint } from './endpoints.js';
import { ALL_KINDS, nameFilter, Tap } from './tap.js';

function kindsOf(raw: string | undefined): ActivityKind[] {
  if (raw === undefined || raw.trim() === '') return ALL_KINDS;
  const kinds = raw.split(',').map((k) => k.trim()).filter(Boolean);
  const unknown = kinds.find((k) => !Object.hasOwn(ACTIVITY_KINDS, k));
  if (unknown !== undefined) throw new HttpError(400, `Unknown kind ${JSON.stringify(unknown.slice(0, 40))} in kinds: expected any of ${ALL_KINDS.join(', ')}`);
  return kinds as ActivityKind[];
}

export const tapStream: AdminEndpoint = async ({ app, actor, params, admin }) => {
  const kinds = kindsOf(params.get('kinds'));
  const channel = nameFilter(params.get('channel'));
  const event = nameFilter(params.get('event'));
  // Before the answer: once the client sees 200, the other nodes are relaying or about to (next tick).
  await admin.watched(app.id);
  return {
    status: 200,
    contentType: 'text/event-stream; charset=utf-8',
    headers: HEADERS,
    stream: (out) => {
      // Gone between the answer and its stream: nothing to open.
      if (out.isClosed) return;
      out.write(RETRY);
      const tap = new Tap(app.id, actor, kinds, channel, event, out);
      admin.taps.open(tap);
      out.onAborted(() => admin.taps.close(tap));
    },
  };
};
