// History channels on the wire (docs/PROTOCOL.md §13): an app with history rules, a raw socket
// that subscribes (with or without `resume`) and reads event positions, and a LocalEngine whose
// history reads wait at a gate the test opens, to place publishes exactly before or after a
// subscriber's read.
import { loadConfig } from '../../src/config/load.js';
import { LocalEngine } from '../../src/engine/local.js';
import type { HistoryRead, Retention } from '../../src/engine/types.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { APP, sdk } from './cluster.js';
import { RawClient, type Frame } from './in-process.js';

export interface HistoryRule {
  channels: string[];
  maxEvents?: number;
  partitions?: number;
}

export function historyApp(history: HistoryRule[]) {
  return { ...APP, history };
}

/** What a frame on a history channel carries besides the Pusher fields. */
export interface PositionedFrame extends Frame {
  offset?: number;
  epoch?: string;
  partition?: number;
  positions?: { partition: number; offset: number; epoch: string }[];
}

export interface Resume {
  epoch: string;
  offset: number;
}

/** A raw socket subscribed to one channel (private and presence ones signed by the SDK). */
export class ChannelReader {
  private constructor(
    readonly client: RawClient,
    readonly channel: string,
    readonly socketId: string,
  ) {}

  static async connect(port: number): Promise<{ client: RawClient; socketId: string }> {
    const client = await RawClient.connect(port);
    return { client, socketId: await client.established() };
  }

  /** A new socket that sent its subscribe (for a test that holds the subscribe's history read at a gate). */
  static async start(port: number, channel: string, resume?: unknown, userId?: string): Promise<ChannelReader> {
    const { client, socketId } = await ChannelReader.connect(port);
    const reader = new ChannelReader(client, channel, socketId);
    reader.subscribe(port, resume, userId);
    return reader;
  }

  /** Subscribes and resolves once subscription_succeeded arrived (returned, with its exact text). */
  static async open(port: number, channel: string, resume?: unknown, userId?: string): Promise<{ reader: ChannelReader; succeeded: PositionedFrame; text: string }> {
    const reader = await ChannelReader.start(port, channel, resume, userId);
    const succeeded = await reader.succeeded();
    return { reader, succeeded, text: reader.client.text(succeeded) };
  }

  succeeded(): Promise<PositionedFrame> {
    return this.client.next((f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === this.channel) as Promise<PositionedFrame>;
  }

  subscribe(port: number, resume?: unknown, userId?: string): void {
    const { channel, socketId } = this;
    const presence = channel.startsWith('presence-') ? { user_id: userId ?? socketId } : undefined;
    const auth = presence !== undefined || channel.startsWith('private-') ? sdk(port).authorizeChannel(socketId, channel, presence) : {};
    this.client.send({ event: 'pusher:subscribe', data: { channel, ...auth, ...(resume === undefined ? {} : { resume }) } });
  }

  /** Frames received on the channel so far (not taken by next()), in arrival order. */
  frames(event?: string): PositionedFrame[] {
    return this.client.frames.filter((f) => f.channel === this.channel && (event === undefined || f.event === event)) as PositionedFrame[];
  }

  /** Offsets of the channel's events named `event` received so far, in arrival order. */
  offsets(event = 'e'): number[] {
    return this.frames(event).map((f) => f.offset!);
  }
}

/** A gate a test opens once: `entered` resolves when something waits at it. */
export class Gate {
  private release!: () => void;
  private readonly opened = new Promise<void>((resolve) => (this.release = resolve));
  private onEntered!: () => void;
  readonly entered = new Promise<void>((resolve) => (this.onEntered = resolve));

  async pass(): Promise<void> {
    this.onEntered();
    await this.opened;
  }

  open(): void {
    this.release();
  }
}

/**
 * A real LocalEngine whose history reads wait at a gate: `beforeRead` makes what is published
 * meanwhile part of the stored history the subscriber reads (and also held live: the duplicate
 * must be dropped); `afterRead` makes it newer than the read (only the held frames have it).
 * A gate applies to the next read, or to a later one (`readsToSkip`: a replay's second page).
 */
export class GatedEngine extends LocalEngine {
  beforeRead: Gate | undefined;
  afterRead: Gate | undefined;
  readsToSkip = 0;

  override async readHistory(appId: string, channel: string, partition: number, from: number, limit: number, retention: Retention): Promise<HistoryRead> {
    const gated = this.readsToSkip-- <= 0;
    const before = gated ? this.beforeRead : undefined;
    if (before !== undefined) {
      this.beforeRead = undefined;
      await before.pass();
    }
    const read = await super.readHistory(appId, channel, partition, from, limit, retention);
    const after = gated ? this.afterRead : undefined;
    if (after !== undefined) {
      this.afterRead = undefined;
      await after.pass();
    }
    return read;
  }
}

export async function startHistoryServer(history: HistoryRule[], overrides: Record<string, unknown> = {}, engine?: LocalEngine): Promise<RunningServer> {
  const config = loadConfig({ env: {}, overrides: { host: '127.0.0.1', port: 0, logLevel: 'silent', apps: [historyApp(history)], ...overrides } });
  return startServer(config, engine === undefined ? {} : { engine });
}
