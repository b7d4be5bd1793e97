// Presence members joined over HTTP (docs/PROTOCOL.md §14.5): the lease operations the
// /broadcasty/presence endpoints call, and the sweeper that ends leases past their deadline. A
// leased member is in the same roster as socket members, so its frames and webhooks are the ones
// a socket's join and leave cause (subscriptions.ts).
import { memberAdded, memberRemoved } from '../../protocol/index.js';
import type { App } from '../apps/registry.js';
import type { ChannelContext } from '../context.js';
import { EngineUnavailableError, type ExpiredLease, type PresenceJoin, type PresenceMember } from '../engine/types.js';
import { announce } from '../publish/announce.js';

const SWEEP_MS = 1000;
/** Leases expired per engine call: one Lua script of a few ms on Redis. */
const SWEEP_BATCH = 500;

const ttlMs = (app: App) => app.jwt.presenceTtlSeconds * 1000;

/** Joins the member with a lease, or renews the one it holds; member_added when the user was not in the channel. */
export async function joinLeased(ctx: ChannelContext, app: App, channel: string, member: PresenceMember): Promise<PresenceJoin> {
  const joined = await ctx.engine.leaseMember(app.id, channel, member, ttlMs(app), app.maxPresenceMembers);
  if (joined.status === 'joined' && joined.firstForUser) {
    await announce(ctx.engine, app.id, channel, memberAdded(channel, member.rawUserId, member.info));
    ctx.observer.memberAdded(app, channel, member.userId);
  }
  return joined;
}

/** False when the user holds no lease on the channel (it expired, or never joined). */
export function renewLeased(ctx: ChannelContext, app: App, channel: string, userId: string): Promise<boolean> {
  return ctx.engine.renewLease(app.id, channel, userId, ttlMs(app));
}

/** Ends the user's lease now; false when it held none. member_removed follows when the user has no socket in the channel either. */
export async function leaveLeased(ctx: ChannelContext, app: App, channel: string, userId: string): Promise<boolean> {
  const released = await ctx.engine.releaseLease(app.id, channel, userId);
  if (released === undefined) return false;
  if (released.lastForUser) await memberLeft(ctx, app.id, channel, released.member, app);
  return true;
}

async function memberLeft(ctx: ChannelContext, appId: string, channel: string, member: PresenceMember, app: App | undefined): Promise<void> {
  await announce(ctx.engine, appId, channel, memberRemoved(channel, member.rawUserId));
  if (app !== undefined) ctx.observer.memberRemoved(app, channel, member.userId);
}

/**
 * Ends leases past their deadline, once a second per process. The engine hands each expiry to
 * exactly one sweeper cluster-wide, so member_removed and its webhook go out once.
 */
export class PresenceLeaseSweeper {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;

  constructor(private readonly ctx: ChannelContext) {}

  start(): void {
    this.timer = setInterval(() => void this.sweep(), SWEEP_MS);
    this.timer.unref();
  }

  /** Stops the timer and waits for a sweep in progress, so its announcements are not cut off. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }

  /** One sweep; a sweep still running (a slow Redis) is not overlapped but joined. */
  sweep(): Promise<void> {
    this.sweeping ??= this.expireAll().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async expireAll(): Promise<void> {
    try {
      let expired: ExpiredLease[];
      do {
        expired = await this.ctx.engine.expireLeases(SWEEP_BATCH);
        for (const lease of expired) if (lease.lastForUser) await this.removed(lease);
      } while (expired.length === SWEEP_BATCH);
    } catch (error) {
      // Redis out of reach: the engine logs the outage; leases wait for the next sweep after it.
      if (!(error instanceof EngineUnavailableError)) this.ctx.log.error({ err: error }, 'presence lease sweep failed');
    }
  }

  /** The engine removed the lease already: a failed lookup or announcement must not skip the rest of the batch. */
  private async removed({ appId, channel, member }: ExpiredLease): Promise<void> {
    try {
      // The frame goes out even for an app no longer registered; only its webhook needs the app.
      const app = await this.ctx.registry.findById(appId);
      await memberLeft(this.ctx, appId, channel, member, app);
    } catch (error) {
      this.ctx.log.error({ err: error, appId, channel }, 'could not announce an expired presence lease');
    }
  }
}
