// Gap-free resume for pusher-js and Laravel Echo on Broadcasty history channels
// (docs/PROTOCOL.md §13). `withResume(pusher)` hooks one pusher-js instance in three places:
//  - every received frame, before pusher-js decodes it (decoding drops the top-level `offset`,
//    `epoch` and `partition` fields): positions are recorded and replayed duplicates dropped
//    before any handler of the app sees them;
//  - `send_event`, the path of every (re)subscribe: `pusher:subscribe` gets `resume`;
//  - `unsubscribe`: an explicit unsubscribe forgets the channel's position.
// No Node or DOM API: the same module runs in browsers, workers, React Native and Node.
import { PositionBook, type StreamPosition } from './positions.js';

export type { ResumeData, StreamPosition } from './positions.js';

/** The data of `broadcasty:resume_failed`: why, and the stream position the app continues from. */
export interface ResumeFailure extends StreamPosition {
  reason: 'epoch_changed' | 'trimmed' | 'ahead';
  /** Only on partitioned channels. */
  partition?: number;
}

export interface ResumeOptions {
  /**
   * Events published while the client was away are lost for this channel (partition): reload the
   * app's state. The event also reaches `channel.bind('broadcasty:resume_failed', …)` and Echo's
   * `.listen('.broadcasty:resume_failed', …)`.
   */
  onResumeFailed?: (channel: string, failure: ResumeFailure) => void;
}

/** What the plugin touches of a pusher-js instance (the `Pusher` class of pusher-js 8). */
export interface ResumablePusher {
  connection: {
    bind(event: string, callback: (...args: never[]) => void): unknown;
    /** The open connection; its transport emits every received frame as `message` `{data}`. */
    connection?: { transport?: FrameSource | null } | null;
  };
  channel(name: string): unknown;
  send_event(name: string, data: unknown, channel?: string): boolean;
  unsubscribe(name: string): void;
}

interface FrameSource {
  emit(event: string, ...args: never[]): unknown;
}

const RESUME_FAILED = 'broadcasty:resume_failed';
const SUBSCRIPTION_SUCCEEDED = 'pusher_internal:subscription_succeeded';
/** Frames worth parsing a second time: positioned events, positions, and the resume failure. */
const MAY_CARRY_POSITION = /"(epoch|positions)":|"broadcasty:resume_failed"/;

/** Hooks `pusher` for resume and returns it: `client: withResume(new Pusher(key, options))`. */
export function withResume<P extends ResumablePusher>(pusher: P, options: ResumeOptions = {}): P {
  const book = new PositionBook();
  const target: ResumablePusher = pusher;

  const sendEvent = target.send_event;
  target.send_event = function (name, data, channel) {
    if (name === 'pusher:subscribe' && isRecord(data) && typeof data.channel === 'string') {
      const resume = book.resumeOf(data.channel);
      if (resume !== undefined) return sendEvent.call(this, name, { ...data, resume }, channel);
    }
    return sendEvent.call(this, name, data, channel);
  };

  const unsubscribe = target.unsubscribe;
  target.unsubscribe = function (name) {
    book.forget(name);
    unsubscribe.call(this, name);
  };

  /** Whether the frame goes on to pusher-js, and the resume failure to report once it has. */
  const admit = (frame: Record<string, unknown>): { deliver: boolean; failure?: [string, ResumeFailure] } => {
    const channel = frame.channel;
    // A channel the app no longer has: pusher-js drops the frame, and its position must not
    // outlive the unsubscribe.
    if (typeof channel !== 'string' || target.channel(channel) === undefined) return { deliver: true };
    if (frame.event === SUBSCRIPTION_SUCCEEDED) {
      for (const { partition, position } of currentPositions(frame)) book.baseline(channel, partition, position);
      return { deliver: true };
    }
    if (frame.event === RESUME_FAILED) {
      const failure = resumeFailure(frame.data);
      if (failure === undefined) return { deliver: true };
      book.reset(channel, failure.partition, { epoch: failure.epoch, offset: failure.offset });
      return { deliver: true, failure: [channel, failure] };
    }
    const position = positionOf(frame);
    if (position === undefined) return { deliver: true };
    return { deliver: book.advance(channel, partitionOf(frame), position) };
  };

  const hooked = new WeakSet<FrameSource>();
  const hookTransport = () => {
    const transport = target.connection.connection?.transport;
    if (transport == null || hooked.has(transport)) return;
    hooked.add(transport);
    const emit = transport.emit;
    transport.emit = function (this: FrameSource, event: string, ...args: never[]) {
      const message: unknown = args[0];
      if (event !== 'message' || !isRecord(message) || typeof message.data !== 'string' || !MAY_CARRY_POSITION.test(message.data)) {
        return emit.call(this, event, ...args);
      }
      const frame = parseRecord(message.data);
      const verdict = frame === undefined ? { deliver: true } : admit(frame);
      if (!verdict.deliver) return this;
      const result = emit.call(this, event, ...args);
      if (verdict.failure !== undefined) options.onResumeFailed?.(...verdict.failure);
      return result;
    };
  };
  // pusher-js emits `connected` once the handshake is done, before any channel frame can arrive.
  target.connection.bind('connected', hookTransport);
  hookTransport();
  return pusher;
}

/**
 * A Pusher class whose instances come with the plugin, for `new Echo({ broadcaster: 'pusher',
 * Pusher: resumingPusher(Pusher), … })`: Echo then builds the client itself, with its own auth
 * endpoint and CSRF header defaults, which a `client` passed in does not get.
 */
export function resumingPusher<C extends new (...args: any[]) => ResumablePusher>(PusherClass: C, options: ResumeOptions = {}): C {
  return class extends PusherClass {
    // A mixin's constructor must take any arguments (TS2545).
    constructor(...args: any[]) {
      super(...args);
      withResume(this, options);
    }
  };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseRecord(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export function positionOf(value: Record<string, unknown>): StreamPosition | undefined {
  const { epoch, offset } = value;
  if (typeof epoch !== 'string' || epoch === '' || typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0) return undefined;
  return { epoch, offset };
}

export function partitionOf(value: Record<string, unknown>): number | undefined {
  const partition = value.partition;
  return typeof partition === 'number' && Number.isInteger(partition) && partition >= 0 ? partition : undefined;
}

/** `subscription_succeeded`'s top-level position, or its `positions` list on a partitioned channel. */
export function currentPositions(frame: Record<string, unknown>): { partition: number | undefined; position: StreamPosition }[] {
  if (!Array.isArray(frame.positions)) {
    const position = positionOf(frame);
    return position === undefined ? [] : [{ partition: undefined, position }];
  }
  return frame.positions.filter(isRecord).flatMap((entry) => {
    const position = positionOf(entry);
    const partition = partitionOf(entry);
    return position === undefined || partition === undefined ? [] : [{ partition, position }];
  });
}

export function resumeFailure(data: unknown): ResumeFailure | undefined {
  const parsed = typeof data === 'string' ? parseRecord(data) : isRecord(data) ? data : undefined;
  if (parsed === undefined || typeof parsed.reason !== 'string') return undefined;
  const position = positionOf(parsed);
  if (position === undefined) return undefined;
  const partition = partitionOf(parsed);
  return { reason: parsed.reason as ResumeFailure['reason'], ...position, ...(partition === undefined ? {} : { partition }) };
}
