// The cluster bus: one pub/sub channel per app ({prefix}:app:{app}:bus) on a dedicated subscriber
// connection. A node joins an app's channel with the app's first connection and stays. Messages
// are a type letter and newline-separated fields, the free-form one last, so the hot path is a few
// indexOf calls and the frame reaches LocalDelivery as the very string that was published:
//   d \n channel \n except socket \n skip node \n frame   fan-out (the publish script writes it)
//   t \n user                                            terminate the user's connections
//   o \n user  |  f \n user                              user online / offline (the change script)
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { RedisKeys } from './redis-keys.js';
import type { LocalDelivery } from './types.js';

export const terminateMessage = (userId: string) => `t\n${userId}`;

export class Bus {
  /** bus channel → app id, for every app this node listens to. */
  private readonly apps = new Map<string, string>();
  /** SUBSCRIBE in flight per channel: concurrent first connections of an app wait on the same one. */
  private readonly joining = new Map<string, Promise<void>>();
  private delivery!: LocalDelivery;
  private listening = false;

  constructor(
    private readonly sub: Redis,
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

  /** True while every app channel is subscribed: nothing published now can be missed. */
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
    const subscribing = this.sub.subscribe(channel).then(
      () => void this.joining.delete(channel),
      () => void this.joining.delete(channel), // the connection dropped: resubscribe() covers it
    );
    this.joining.set(channel, subscribing);
    return subscribing;
  }

  /** ioredis' own resubscribe is off so that ready() turns true only once every channel is back. */
  private async resubscribe(): Promise<void> {
    try {
      if (this.apps.size > 0) await this.sub.subscribe(...this.apps.keys());
      this.listening = true;
      this.changed();
    } catch (error) {
      this.log.debug({ err: error }, 'bus resubscribe interrupted; retrying on reconnect');
    }
  }

  private receive(channel: string, message: string): void {
    const appId = this.apps.get(channel);
    if (appId === undefined) return;
    switch (message[0]) {
      case 'd': {
        const a = message.indexOf('\n', 2);
        const b = message.indexOf('\n', a + 1);
        const c = message.indexOf('\n', b + 1);
        if (c - b > 1 && message.slice(b + 1, c) === this.node) return;
        const except = b - a > 1 ? message.slice(a + 1, b) : undefined;
        this.delivery.deliver(appId, message.slice(2, a), message.slice(c + 1), except);
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
}
