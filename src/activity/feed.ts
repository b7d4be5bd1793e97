// The one place activity goes through (types.ts). Sinks come and go (a console opens a tap, closes
// it); `wants` is recomputed then, never per event.
import { ACTIVITY_KINDS, type Activity, type ActivityInput, type ActivityKind, type ActivitySink } from './types.js';

const nobody = (): Record<ActivityKind, boolean> =>
  Object.fromEntries(Object.keys(ACTIVITY_KINDS).map((kind) => [kind, false])) as Record<ActivityKind, boolean>;

export class ActivityFeed {
  /** Read by emitters before they build an Activity: false means nobody listens for that kind. */
  readonly wants: Record<ActivityKind, boolean> = nobody();
  private sinks: ActivitySink[] = [];

  /** Returns the function that removes the sink again. */
  add(sink: ActivitySink): () => void {
    this.sinks = [...this.sinks, sink];
    this.recompute();
    return () => {
      this.sinks = this.sinks.filter((s) => s !== sink);
      this.recompute();
    };
  }

  emit(input: ActivityInput): void {
    const activity = { ...input, at: Date.now() } as Activity;
    for (const sink of this.sinks) if (sink.kinds.includes(activity.kind)) sink.accept(activity);
  }

  private recompute(): void {
    const wants = nobody();
    for (const sink of this.sinks) for (const kind of sink.kinds) wants[kind] = true;
    Object.assign(this.wants, wants);
  }
}
