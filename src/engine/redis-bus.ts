// The cluster bus: one pub/sub channel per app ({prefix}:app:{app}:bus) on a dedicated subscriber
// connection. A node joins an app's channel with the app's first connection and stays. Messages
// are a type letter and newline-separated fields, the free-form one last, so the hot path is a few
// indexOf calls and the frame reaches LocalDelivery as the very string that was published:
//   d \n log id \n channel \n except socket \n skip node \n frame   fan-out (the publish script)
//   t \n user                                                       terminate the user's connections
//   o \n user  |  f \n user                                         user online / offline (the change script)
//
// Pub/sub forgets what a disconnected subscriber missed, so the publish script also appends each
// fan-out message (from "channel" on) to the app's capped log stream, and the id it got there
// rides on the message. Whenever the subscriber connection comes back, the node reads the log
// after the last id it delivered before it counts as listening again: an event published by a
// node that reconnected earlier, or flushed from its outage queue, still reaches this node's
// sockets once and in order.
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { RedisKeys } from './redis-keys.js';
import type { LocalDelivery } from './types.js';

export const terminateMessage = (userId: string) => `t\n${userId}`;

/** Log entries read per round trip while catching up. */
const CATCH_UP_PAGE = 500;
const RETRY_MS = 100;

/** Stream ids are "ms-seq"; compared as numbers. */
function compareIds(a: string, b: string): number {
  const [aMs, aSeq] = a.split('-').map(Number);
  const [bMs, bSeq] = b.split('-').map(Number);
  return aMs - bMs || aSeq - bSeq;
}

export class Bus {
  /** bus channel → app id, for every app this node listens to. */
  private readonly apps = new Map<string, string>();
  /** bus channel → id of the last logged message delivered here. */
  private readonly lastIds = new Map<string, string>();
  /** While catching up: live fan-out messages per bus channel, held back until the log is read. */
  private held: Map<string, string[]> | undefined;
  /** SUBSCRIBE in flight per channel: concurrent first connections of an app wait on the same one. */
  private readonly joining = new Map<string, Promise<void>>();
  private delivery!: LocalDelivery;
  private listening = false;

  constructor(
    private readonly sub: Redis,
    /** Reads the log; the subscriber connection cannot run commands. */
    private readonly cmd: Redis,
    private readonly keys: RedisKeys,
    /** Messages naming this node as skip were already delivered here. */
    private readonly node: string,
    private readonly log: Logger,
    /** Called whenever ready() may have changed. */
    private readonly changed: () => void,
  ) {}

  start(delivery: LocalDelivery): void {
    this.delivery = delivery;
    this.sub.on('message', (channel: string, message: string) => this.receive(channel, message));
    this.sub.on('ready', () => void this.resubscribe());
    this.sub.on('close', () => {
      this.listening = false;
      this.changed();
    });
  }

  /** True while every app channel is subscribed and caught up: nothing published now can be missed. */
  ready(): boolean {
    return this.listening && this.sub.status === 'ready';
  }

  /** Resolves once this node hears the app's bus; while disconnected it is subscribed on reconnect. */
  async join(appId: string): Promise<void> {
    const channel = this.keys.app(appId, 'bus');
    if (this.apps.has(channel)) return this.joining.get(channel);
    this.apps.set(channel, appId);
    // Also while resubscribe() runs: it may have listed the channels before this one arrived.
    if (this.sub.status !== 'ready') return;
    const subscribing = this.sub
      .subscribe(channel)
      .then(() => this.markLogEnd(channel, appId))
      .catch((error: unknown) => this.log.debug({ err: error }, 'bus subscribe interrupted; resubscribed on reconnect'))
      .finally(() => void this.joining.delete(channel));
    this.joining.set(channel, subscribing);
    return subscribing;
  }

  /** A new app channel starts at the log's end: what came before is not this node's to deliver. */
  private async markLogEnd(channel: string, appId: string): Promise<void> {
    try {
      const [last] = await this.cmd.xrevrange(this.keys.app(appId, 'log'), '+', '-', 'COUNT', 1);
      if (!this.lastIds.has(channel)) this.lastIds.set(channel, last?.[0] ?? '0-0');
    } catch (error) {
      // Without a mark (and no message since), a later catch-up starts at the log's end.
      this.log.debug({ err: error }, 'could not read the bus log end');
    }
  }

  /** ioredis' own resubscribe is off so that ready() turns true only once every channel is back. */
  private async resubscribe(): Promise<void> {
    const channels = [...this.apps.keys()];
    this.held = new Map(channels.map((channel) => [channel, []]));
    try {
      if (channels.length > 0) await this.sub.subscribe(...channels);
      // Apps are independent: their reads are pipelined, each app's messages stay in order.
      await Promise.all(channels.map((channel) => this.catchUp(channel)));
    } catch (error) {
      this.log.debug({ err: error }, 'bus resubscribe interrupted; retrying on reconnect');
      return;
    } finally {
      this.releaseHeld();
    }
    this.listening = true;
    this.changed();
  }

  /** Delivers the logged messages after the channel's last delivered id, then the held live ones. */
  private async catchUp(channel: string): Promise<void> {
    const appId = this.apps.get(channel)!;
    const key = this.keys.app(appId, 'log');
    let from = this.lastIds.get(channel);
    if (from === undefined) {
      // Joined while disconnected: nothing earlier was this node's to deliver.
      const [last] = (await this.readLog(key, '-', true)) as [string, string[]][];
      from = last?.[0] ?? '0-0';
    } else {
      for (;;) {
        const entries = await this.readLog(key, from, false);
        for (const [id, fields] of entries) {
          if (compareIds(id, from) <= 0) continue;
          this.deliverData(appId, fields[1], 0);
          from = id;
        }
        if (entries.length < CATCH_UP_PAGE) break;
      }
    }
    this.lastIds.set(channel, from);
    const held = this.held?.get(channel) ?? [];
    this.held?.delete(channel);
    for (const message of held) {
      const end = message.indexOf('\n', 2);
      // Read from the log already.
      if (message[0] === 'd' && end > 2 && compareIds(message.slice(2, end), from) <= 0) continue;
      this.receive(channel, message);
    }
  }

  /**
   * One page of the log from `from` (inclusive), or with `last` only its newest entry; waits for
   * the command connection if it is still reconnecting.
   */
  private async readLog(key: string, from: string, last: boolean): Promise<[string, string[]][]> {
    for (;;) {
      if (this.sub.status !== 'ready') throw new Error('bus connection lost while catching up');
      if (this.cmd.status === 'ready') {
        try {
          return last ? await this.cmd.xrevrange(key, '+', '-', 'COUNT', 1) : await this.cmd.xrange(key, from, '+', 'COUNT', CATCH_UP_PAGE);
        } catch (error) {
          this.log.debug({ err: error }, 'bus log read failed; retrying');
        }
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }

  /** After an interrupted catch-up: what was held still reaches the sockets rather than nothing. */
  private releaseHeld(): void {
    const held = this.held;
    this.held = undefined;
    for (const [channel, messages] of held ?? []) for (const message of messages) this.receive(channel, message);
  }

  private receive(channel: string, message: string): void {
    const appId = this.apps.get(channel);
    if (appId === undefined) return;
    switch (message[0]) {
      case 'd': {
        const held = this.held?.get(channel);
        if (held !== undefined) {
          held.push(message);
          return;
        }
        const end = message.indexOf('\n', 2);
        if (end > 2) this.lastIds.set(channel, message.slice(2, end));
        this.deliverData(appId, message, end + 1);
        return;
      }
      case 't':
        this.delivery.terminateUser(appId, message.slice(2));
        return;
      case 'o':
      case 'f':
        this.delivery.userStatusChanged(appId, message.slice(2), message[0] === 'o');
        return;
    }
  }

  /** `channel \n except \n skip \n frame`, starting at `start` of `body`. */
  private deliverData(appId: string, body: string, start: number): void {
    const a = body.indexOf('\n', start);
    const b = body.indexOf('\n', a + 1);
    const c = body.indexOf('\n', b + 1);
    if (c - b > 1 && body.slice(b + 1, c) === this.node) return;
    const except = b - a > 1 ? body.slice(a + 1, b) : undefined;
    this.delivery.deliver(appId, body.slice(start, a), body.slice(c + 1), except);
  }
}
