// Which webhook targets want an event, and the lane it travels in. A lane is one ordered queue
// per target and channel-hash bucket: events of one channel keep their order at one target,
// while different channels (and a failing target vs a healthy one) never wait on each other.
import { createHash } from 'node:crypto';
import type { WebhookEvent } from '../../protocol/index.js';
import type { App } from '../apps/registry.js';
import type { WebhookConfig } from '../config/schema.js';

/** Concurrent POSTs per target: enough to hide a receiver's latency, few enough to poll cheaply. */
export const LANES_PER_TARGET = 8;

export interface Target {
  /** Stable across restarts (a hash of what the target is), so queued jobs find it again. */
  id: string;
  config: WebhookConfig;
  /** The only part of the URL that is logged: paths and queries may carry tokens. */
  host: string;
}

export interface Lane {
  /** Store-agnostic name, `<appId>:webhooks:<targetId>:<n>`; the Redis queue prefixes it. */
  key: string;
  app: App;
  target: Target;
}

export function wants(target: WebhookConfig, event: WebhookEvent): boolean {
  if (target.eventTypes !== undefined && !target.eventTypes.includes(event.name)) return false;
  if (target.channelPrefix !== undefined && !event.channel.startsWith(target.channelPrefix)) return false;
  if (target.channelSuffix !== undefined && !event.channel.endsWith(target.channelSuffix)) return false;
  const excluded = target.excludeChannelPrefix;
  if (excluded !== undefined && (typeof excluded === 'string' ? [excluded] : excluded).some((prefix) => event.channel.startsWith(prefix))) return false;
  return true;
}

/** FNV-1a: cheap, stable across processes, so every node puts a channel in the same lane. */
export function laneOf(channel: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < channel.length; i++) hash = Math.imul(hash ^ channel.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % LANES_PER_TARGET;
}

function targetId(config: WebhookConfig): string {
  const filters: unknown[] = [config.url, config.eventTypes ? [...config.eventTypes].sort() : null, config.channelPrefix ?? null, config.channelSuffix ?? null];
  // Appended only when set, so targets configured before the setting existed keep their ids (and queued jobs).
  if (config.excludeChannelPrefix !== undefined) filters.push([config.excludeChannelPrefix].flat().sort());
  const identity = JSON.stringify(filters);
  return createHash('sha256').update(identity).digest('hex').slice(0, 12);
}

export class TargetTable {
  private readonly apps = new Map<string, { app: App; targets: Target[] }>();
  private readonly lanes = new Map<string, Lane>();

  /** Targets of the app; rebuilt when the registry hands out a new App object (config reload). */
  register(app: App): Target[] {
    const known = this.apps.get(app.id);
    if (known !== undefined && known.app === app) return known.targets;
    const seen = new Map<string, number>();
    const targets = app.webhooks.map((config) => {
      const base = targetId(config);
      // Two identical entries are two deliveries, as configured: keep their ids apart.
      const n = (seen.get(base) ?? 0) + 1;
      seen.set(base, n);
      return { id: n === 1 ? base : `${base}-${n}`, config, host: new URL(config.url).host };
    });
    this.apps.set(app.id, { app, targets });
    for (const target of targets) {
      for (let n = 0; n < LANES_PER_TARGET; n++) {
        const key = `${app.id}:webhooks:${target.id}:${n}`;
        this.lanes.set(key, { key, app, target });
      }
    }
    return targets;
  }

  /** Lane keys of every target of the app that wants the event. */
  lanesFor(app: App, event: WebhookEvent): string[] {
    const lane = laneOf(event.channel);
    return this.register(app)
      .filter((target) => wants(target.config, event))
      .map((target) => `${app.id}:webhooks:${target.id}:${lane}`);
  }

  lane(key: string): Lane | undefined {
    return this.lanes.get(key);
  }

  laneKeys(): string[] {
    return [...this.lanes.keys()];
  }

  appIds(): string[] {
    return [...this.apps.keys()];
  }
}
