// The live tap (docs/PROTOCOL.md §17.2): activity of one app as SSE events, for the console and
// the CLI. The feed gets a sink only while at least one tap is open, for the kinds some tap asked
// for, so with nobody watching `feed.wants` stays false and emitters do nothing.
import type { ActivityFeed } from '../activity/feed.js';
import { ACTIVITY_KINDS, type Activity, type ActivityKind } from '../activity/types.js';
import { HEARTBEAT } from '../sessions/sse.js';
import type { ResponseStream } from '../transport/types.js';
import { mayAccess, type AdminActor } from './access.js';

/** An activity as a tap sends it: the node it happened on, publish data capped. */
export type TapView = Activity & { node: string; truncated?: true };

export const ALL_KINDS = Object.keys(ACTIVITY_KINDS) as ActivityKind[];

const MAX_TAP_DATA_BYTES = 10 * 1024;

export function tapView(activity: Activity, node: string): TapView {
  if (activity.kind !== 'publish' || activity.bytes <= MAX_TAP_DATA_BYTES) return { ...activity, node };
  const data = Buffer.from(activity.data).subarray(0, MAX_TAP_DATA_BYTES).toString();
  return { ...activity, data, node, truncated: true };
}

/** `name` exactly, or every name starting with it when it ends in `*`; undefined matches everything. */
export type NameFilter = ((name: string | undefined) => boolean) | undefined;

export function nameFilter(pattern: string | undefined): NameFilter {
  if (pattern === undefined || pattern === '') return undefined;
  if (pattern.endsWith('*')) {
    const prefix = pattern.slice(0, -1);
    return (name) => name !== undefined && name.startsWith(prefix);
  }
  return (name) => name === pattern;
}

/** The channel an activity concerns, if any (an admin publish names it as its target). */
function channelOf(view: TapView): string | undefined {
  if ('channel' in view) return view.channel;
  return view.kind === 'admin' && view.action === 'publish' ? view.target : undefined;
}

/** One open tap: its filters and its response. */
export class Tap {
  private readonly kindSet: ReadonlySet<ActivityKind>;
  /** Date.now() of the last write: the hub's tick sends a heartbeat only to a tap idle that long. */
  private lastWriteAt = Date.now();

  constructor(
    readonly appId: string,
    readonly actor: AdminActor,
    readonly kinds: readonly ActivityKind[],
    private readonly channel: NameFilter,
    private readonly event: NameFilter,
    private readonly out: ResponseStream,
  ) {
    this.kindSet = new Set(kinds);
  }

  wants(view: TapView): boolean {
    if (!this.kindSet.has(view.kind)) return false;
    // An auth failure before the app was known belongs to no app: only tokens that see every app see those.
    if (view.appId === undefined ? this.actor.apps !== '*' : view.appId !== this.appId || !mayAccess(this.actor, view.appId)) return false;
    if (this.channel !== undefined && !this.channel(channelOf(view))) return false;
    if (this.event !== undefined && !this.event(view.kind === 'publish' ? view.event : undefined)) return false;
    return true;
  }

  send(text: string, now: number): void {
    this.lastWriteAt = now;
    this.out.write(text);
  }

  heartbeat(now: number, everyMs: number): void {
    if (now - this.lastWriteAt >= everyMs) this.send(HEARTBEAT, now);
  }

  end(): void {
    this.out.end();
  }
}

/** The SSE event of one activity; `json` when the view arrived already encoded. */
const sseEvent = (view: TapView, json: string | undefined): string => `event: ${view.kind}\ndata: ${json ?? JSON.stringify(view)}\n\n`;

/** This node's open taps, and the feed sink that exists only while there is one. */
export class TapHub {
  private taps: Tap[] = [];
  private removeSink: (() => void) | undefined;

  constructor(
    private readonly feed: ActivityFeed,
    private readonly node: string,
  ) {}

  open(tap: Tap): void {
    this.taps = [...this.taps, tap];
    this.resink();
  }

  close(tap: Tap): void {
    this.taps = this.taps.filter((t) => t !== tap);
    this.resink();
  }

  /** Apps with at least one open tap here, each with the kinds its taps asked for (the cluster's watch marks). */
  kindsByApp(): Map<string, Set<ActivityKind>> {
    const apps = new Map<string, Set<ActivityKind>>();
    for (const tap of this.taps) apps.set(tap.appId, new Set([...(apps.get(tap.appId) ?? []), ...tap.kinds]));
    return apps;
  }

  /**
   * Hands an activity (this node's, or another node's relayed through Redis, `json` being its text
   * when the caller has it) to the taps that want it. The event is encoded once, by the first tap
   * that takes it: every tap sends the same text, truncated or not, as tapView made the view.
   */
  deliver(view: TapView, json?: string): void {
    let text: string | undefined;
    let now = 0;
    for (const tap of this.taps) {
      if (!tap.wants(view)) continue;
      if (text === undefined) {
        text = sseEvent(view, json);
        now = Date.now();
      }
      tap.send(text, now);
    }
  }

  /** The server's 1 s sweep (through AdminNode.tick): a heartbeat to every tap idle for `everyMs`. */
  tick(now: number, everyMs: number): void {
    for (const tap of this.taps) tap.heartbeat(now, everyMs);
  }

  /** Shutdown: every tap's response ends (the CLI's monitor says the server ended the tap), the feed sink goes. */
  closeAll(): void {
    const open = this.taps;
    this.taps = [];
    this.resink();
    for (const tap of open) tap.end();
  }

  private resink(): void {
    this.removeSink?.();
    this.removeSink = undefined;
    if (this.taps.length === 0) return;
    const kinds = [...new Set(this.taps.flatMap((t) => t.kinds))];
    this.removeSink = this.feed.add({ kinds, accept: (activity) => this.deliver(tapView(activity, this.node)) });
  }
}
