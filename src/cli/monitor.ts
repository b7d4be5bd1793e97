// `broadcasty monitor`: a live tail of the app's activity, from the admin API's tap (GET
// /admin/apps/{id}/tap, an SSE stream, docs/PROTOCOL.md §17.2), until Ctrl-C or SIGTERM.
import { ACTIVITY_KINDS, type Activity, type ActivityKind } from '../activity/types.js';
import { ADMIN_HELP, ADMIN_OPTIONS, EXIT, FailedError, UsageError, type Command } from './command.js';
import { adminHeaders, read, send } from './http.js';
import { EventStreamParser, readEventStream } from '../../protocol/event-stream.js';
import { adminTarget } from './target.js';

/** The Activity type whose kinds include K (subscribe and unsubscribe share one). */
type ActivityOf<K extends ActivityKind> = Activity extends infer A ? (A extends { kind: infer Kinds } ? (K extends Kinds ? A : never) : never) : never;
type Described<K extends ActivityKind> = (activity: ActivityOf<K>) => string;

const within = (channel?: string) => (channel === undefined ? '' : ` ${channel}`);

/** After `12:00:01 kind`: what a person watching wants to see of each kind. */
const DESCRIBE: { [K in ActivityKind]: Described<K> } = {
  publish: (a) => `${a.channel} ${a.event} ${a.bytes} B (${a.actor})`,
  subscribe: (a) => `${a.channel} ${a.socketId}${a.userId === undefined ? '' : ` user ${a.userId}`}`,
  unsubscribe: (a) => `${a.channel} ${a.socketId}${a.userId === undefined ? '' : ` user ${a.userId}`}`,
  member_added: (a) => `${a.channel} ${a.userId}`,
  member_removed: (a) => `${a.channel} ${a.userId}`,
  webhook: (a) => `${a.outcome} ${a.url} ${a.events.join(',')}${a.status === undefined ? '' : ` ${a.status}`}${a.error === undefined ? '' : `: ${a.error}`}`,
  push: (a) => `${a.outcome} ${a.provider} ${a.target}${a.error === undefined ? '' : `: ${a.error}`}`,
  auth_failure: (a) => `${a.surface}${within(a.channel)}: ${a.reason}${a.actor === undefined ? '' : ` (${a.actor})`}`,
  admin: (a) => `${a.action}${within(a.target)} (${a.actor})`,
};

/** C0 controls, DEL and C1 controls: what a terminal would act on rather than print. */
const CONTROL = /[\x00-\x1f\x7f-\x9f]/g;

/**
 * Anonymous clients choose some of these fields (a refused auth's reason, user ids, channel and
 * event names): printed raw, an escape sequence could rewrite the operator's terminal. So every
 * control character shows as \xNN.
 */
const printable = (text: string) => text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

/** `12:00:01 publish orders order.shipped 42 B (app)`, in the operator's local time. */
export function activityLine(activity: Activity): string {
  const time = new Date(activity.at).toTimeString().slice(0, 8);
  const describe = DESCRIBE[activity.kind] as Described<ActivityKind> | undefined;
  return printable(`${time} ${activity.kind} ${describe === undefined ? JSON.stringify(activity) : describe(activity as never)}`);
}

function kindsQuery(given: string | undefined): string | undefined {
  if (given === undefined) return undefined;
  const kinds = given.split(',').map((kind) => kind.trim());
  const unknown = kinds.filter((kind) => !(kind in ACTIVITY_KINDS));
  if (unknown.length > 0) throw new UsageError(`--kinds: unknown ${unknown.join(', ')}; the kinds are ${Object.keys(ACTIVITY_KINDS).join(', ')}`);
  return kinds.join(',');
}

export const monitor: Command = {
  name: 'monitor',
  summary: "live tail of the app's activity: publishes, subscribes, members, webhooks, push, auth failures",
  usage: 'broadcasty monitor [--channel C] [--event E] [--kinds K,K] [options]',
  details: `One line per activity until Ctrl-C; --json prints each activity as a JSON line.
Cluster-wide when the server runs on Redis.
Example: broadcasty monitor --channel 'orders.*' --kinds publish

Options:
  --channel C        only this channel; C ending in * matches a prefix
  --event E          only this event name; E ending in * matches a prefix
  --kinds K,K        only these kinds: ${Object.keys(ACTIVITY_KINDS).join(', ')}
${ADMIN_HELP}`,
  options: { ...ADMIN_OPTIONS, channel: { type: 'string' }, event: { type: 'string' }, kinds: { type: 'string' } },
  positionals: [0, 0],
  async run(values) {
    const kinds = kindsQuery(values.kinds as string | undefined);
    const target = await adminTarget(values);
    const query = new URLSearchParams();
    for (const [name, value] of [['kinds', kinds], ['channel', values.channel], ['event', values.event]] as const) if (typeof value === 'string') query.set(name, value);
    const stop = new AbortController();
    const stopped = () => stop.abort();
    process.once('SIGINT', stopped);
    process.once('SIGTERM', stopped);
    try {
      const response = await send(`${target.baseUrl}/admin/apps/${encodeURIComponent(target.appId)}/tap?${query}`, {
        headers: { ...adminHeaders(target), accept: 'text/event-stream' },
        signal: stop.signal,
      });
      if (response.status !== 200) {
        const reply = await read(response);
        throw new FailedError(`the server answered ${reply.status}: ${reply.body.trim()}`);
      }
      const parser = new EventStreamParser(({ data }) => console.log(values.json ? data : activityLine(JSON.parse(data) as Activity)));
      await readEventStream(response.body!, (text) => parser.push(text));
    } catch (error) {
      if (stop.signal.aborted) return EXIT.ok;
      throw error;
    } finally {
      process.off('SIGINT', stopped);
      process.off('SIGTERM', stopped);
    }
    if (stop.signal.aborted) return EXIT.ok;
    throw new FailedError('the server ended the tap (it stopped or restarted)');
  },
};
