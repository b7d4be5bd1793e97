// One benchmark WebSocket client speaking the Pusher protocol (PROTOCOL §1–§2), plus the
// per-process counters it feeds. Runs inside worker processes only.
import WebSocket from 'ws';
import { emptyChannelStats, type ChannelStats, type ConnectCommand, type StatsResult } from './ipc.js';
import { presenceAuth, privateAuth } from './sign.js';
import { Histogram, now } from './stats.js';

/** Marker of every timed payload (HTTP-published and client events): `"__bt":<send time ms>`. */
export const MARK = Buffer.from('__bt');

export class Counters {
  channels = new Map<string, ChannelStats>();
  latency = new Histogram();
  joinLatency = new Histogram();
  closed = 0;
  closeCodes: Record<string, number> = {};
  errorCount = 0;
  errors: string[] = [];
  private cpuBase = process.cpuUsage();

  channel(name: string): ChannelStats {
    let stats = this.channels.get(name);
    if (!stats) this.channels.set(name, (stats = emptyChannelStats()));
    return stats;
  }

  error(message: string): void {
    this.errorCount++;
    if (this.errors.length < 5) this.errors.push(message.slice(0, 200));
  }

  /** Zeroes what a measurement window counts; membership is structure and survives. */
  reset(): void {
    for (const stats of this.channels.values()) Object.assign(stats, emptyChannelStats(), { members: stats.members, stable: stats.stable });
    this.latency = new Histogram();
    this.joinLatency = new Histogram();
    this.closed = 0;
    this.closeCodes = {};
    this.errorCount = 0;
    this.errors = [];
    this.cpuBase = process.cpuUsage();
  }

  snapshot(open: number): StatsResult {
    const cpu = process.cpuUsage(this.cpuBase);
    return {
      channels: Object.fromEntries(this.channels),
      latency: this.latency.toData(),
      joinLatency: this.joinLatency.toData(),
      open,
      closed: this.closed,
      closeCodes: this.closeCodes,
      errorCount: this.errorCount,
      errors: this.errors,
      cpuMs: (cpu.user + cpu.system) / 1000,
    };
  }
}

type WaitKind = 'established' | 'subscribed';

/** Reads the number after the marker, skipping the `\":`, `\\\":` (escaped once or twice) or `":` in between. */
function readNumberAfter(buf: Buffer, pos: number): number {
  const limit = Math.min(buf.length, pos + 8);
  while (pos < limit && (buf[pos] < 48 || buf[pos] > 57)) pos++;
  let end = pos;
  while (end < buf.length && ((buf[end] >= 48 && buf[end] <= 57) || buf[end] === 46)) end++;
  return Number(buf.toString('latin1', pos, end));
}

/**
 * What every benchmark client shares, whatever carries its frames (WebSocket here, SSE and
 * pusher-js's xhr_streaming in http-conns.ts): its planned channel and role, the waits for
 * connection_established and subscription_succeeded, and the counters it feeds.
 */
export abstract class Subscriber {
  socketId = '';
  readonly channel: string | null = null;
  readonly role: 'plain' | 'stable' | 'churn' = 'plain';
  protected stats: ChannelStats | null = null;
  private waiter: { kind: WaitKind; resolve(): void; reject(e: Error): void; timer: NodeJS.Timeout } | null = null;
  protected established = false;
  protected closing = false;
  private readonly opened = now();
  private readonly firstFrame: Promise<void>;

  constructor(
    readonly index: number,
    protected readonly cmd: ConnectCommand,
    protected readonly counters: Counters,
  ) {
    const plan = cmd.plan;
    if (plan) {
      const group = plan.perChannel > 0 ? Math.floor(index / plan.perChannel) : -1;
      this.channel = group < 0 ? plan.base : `${plan.base}-${group}`;
      if (plan.kind === 'presence') {
        const position = plan.perChannel > 0 ? index % plan.perChannel : index;
        this.role = position < (plan.stable ?? Infinity) ? 'stable' : 'churn';
      }
    }
    this.firstFrame = this.wait('established');
  }

  /** Resolves with ms from construction to `pusher:connection_established` (SSE: the 200 answer). */
  async open(): Promise<number> {
    await this.firstFrame;
    return now() - this.opened;
  }

  /** Subscribes to the planned channel; resolves with ms until subscription_succeeded. */
  abstract subscribe(): Promise<number>;

  abstract close(): void;

  abstract get isOpen(): boolean;

  /** Registers membership once the first subscription succeeded (used for expected counts). */
  joined(): void {
    if (!this.channel) return;
    this.stats = this.counters.channel(this.channel);
    this.stats.members++;
    if (this.role === 'stable') this.stats.stable++;
  }

  protected wait(kind: WaitKind): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => this.settle(new Error(`timeout waiting for ${kind} after ${this.cmd.timeoutMs} ms`)), this.cmd.timeoutMs);
      this.waiter = { kind, resolve, reject, timer };
    });
  }

  /** Completes the pending wait: with an error, or successfully when `kind` matches. */
  protected settle(err: Error | null, kind?: WaitKind): void {
    const waiter = this.waiter;
    if (!waiter || (err === null && waiter.kind !== kind)) return;
    this.waiter = null;
    clearTimeout(waiter.timer);
    if (err) waiter.reject(err);
    else waiter.resolve();
  }

  /** Hot path: one timed payload whose `__bt` marker ends at `pos` in buf. */
  protected delivered(buf: Buffer, pos: number): void {
    // A resume replay arrives right behind subscription_succeeded, before joined() has run.
    if (this.stats) this.stats.received++;
    else if (this.channel) this.counters.channel(this.channel).received++;
    this.counters.latency.recordMs(now() - readNumberAfter(buf, pos));
  }

  /** A parsed frame without a timed payload; `reply` carries the pong back (null: the kind cannot send). */
  protected control(frame: { event?: string; data?: unknown }, reply: ((text: string) => void) | null): void {
    const payload = typeof frame.data === 'string' ? safeParse(frame.data) : frame.data;
    switch (frame.event) {
      case 'pusher:connection_established':
        this.socketId = String((payload as { socket_id?: unknown } | null)?.socket_id ?? '');
        this.established = true;
        return this.settle(null, 'established');
      case 'pusher_internal:subscription_succeeded':
        return this.settle(null, 'subscribed');
      case 'pusher:ping':
        return reply?.('{"event":"pusher:pong","data":{}}');
      case 'pusher_internal:member_added':
        if (this.role === 'stable' && this.stats) this.stats.memberAdded++;
        return;
      case 'pusher_internal:member_removed':
        if (this.role === 'stable' && this.stats) this.stats.memberRemoved++;
        return;
      case 'pusher:error': {
        const { code, message } = (payload ?? {}) as { code?: unknown; message?: unknown };
        if (code === 4301 && this.stats) {
          this.stats.rateLimited++;
          return;
        }
        this.counters.error(`pusher:error ${String(code)} ${String(message)}`);
        if (this.waiter?.kind === 'subscribed') this.settle(new Error(`subscribe failed: ${String(message)}`));
        return;
      }
      case 'pusher:subscription_error':
        this.counters.error(`subscription_error ${JSON.stringify(payload)}`);
        return this.settle(new Error(`subscription_error ${JSON.stringify(payload)}`));
      default:
        return; // subscription_count, cache_miss, …: irrelevant to the measurements
    }
  }

  /** The transport ended: fails a pending wait; counted as a server-side close unless we closed it. */
  protected ended(code: number | string): void {
    this.settle(new Error(`closed with ${code} before ${this.waiter?.kind ?? 'completion'}`));
    if (this.closing || !this.established) return;
    this.closing = true; // count each client once, however many ways its end is reported
    this.counters.closed++;
    this.counters.closeCodes[code] = (this.counters.closeCodes[code] ?? 0) + 1;
  }
}

export class BenchConn extends Subscriber {
  readonly ws: WebSocket;
  private subscribeFrame = '';

  constructor(index: number, cmd: ConnectCommand, counters: Counters) {
    super(index, cmd, counters);
    this.ws = new WebSocket(cmd.url, {
      localAddress: cmd.addresses[index % cmd.addresses.length],
      perMessageDeflate: false,
      skipUTF8Validation: true,
      handshakeTimeout: cmd.timeoutMs,
    });
    this.ws.on('message', (data: Buffer) => this.onMessage(data));
    this.ws.on('error', (err) => this.settle(err));
    this.ws.on('close', (code) => this.ended(code));
  }

  async subscribe(): Promise<number> {
    if (!this.channel) throw new Error('no channel planned');
    if (!this.subscribeFrame) this.subscribeFrame = subscribeFrame(this.cmd, this.channel, this.socketId, this.index);
    const t0 = now();
    const done = this.wait('subscribed');
    this.ws.send(this.subscribeFrame);
    await done;
    return now() - t0;
  }

  /** One presence leave + join on the same socket (server handles frames in order). */
  async churn(): Promise<void> {
    if (!this.channel || !this.stats) return;
    this.ws.send(JSON.stringify({ event: 'pusher:unsubscribe', data: { channel: this.channel } }));
    this.stats.leaves++;
    const ms = await this.subscribe();
    this.stats.joins++;
    this.counters.joinLatency.recordMs(ms);
  }

  whisper(seq: number): void {
    if (!this.channel || !this.stats || this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(`{"event":"client-bench","channel":"${this.channel}","data":{"__bt":${now().toFixed(3)},"s":${seq}}}`);
    this.stats.sent++;
  }

  close(): void {
    this.closing = true;
    this.ws.terminate();
  }

  get isOpen(): boolean {
    return this.established && this.ws.readyState === WebSocket.OPEN;
  }

  private onMessage(data: Buffer): void {
    // Hot path: timed payloads are found by marker without parsing the frame.
    const at = data.indexOf(MARK);
    if (at !== -1) return this.delivered(data, at + MARK.length);
    let frame: { event?: string; data?: unknown };
    try {
      frame = JSON.parse(data.toString());
    } catch {
      return this.counters.error(`unparseable frame: ${data.toString().slice(0, 80)}`);
    }
    this.control(frame, (text) => this.ws.send(text));
  }
}

/** The `pusher:subscribe` frame for the planned channel (private and presence channels signed here). */
export function subscribeFrame(cmd: ConnectCommand, channel: string, socketId: string, index: number): string {
  const { key, secret, plan } = cmd;
  if (plan?.kind === 'private') {
    return JSON.stringify({ event: 'pusher:subscribe', data: { auth: privateAuth(key, secret, socketId, channel), channel } });
  }
  if (plan?.kind === 'presence') {
    const channelData = JSON.stringify({ user_id: `u${index}`, user_info: { name: `bench ${index}` } });
    const auth = presenceAuth(key, secret, socketId, channel, channelData);
    return JSON.stringify({ event: 'pusher:subscribe', data: { auth, channel_data: channelData, channel } });
  }
  return JSON.stringify({ event: 'pusher:subscribe', data: { auth: '', channel, ...(plan?.resume === undefined ? {} : { resume: plan.resume }) } });
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
