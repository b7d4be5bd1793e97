// POST /apps/{id}/events and /batch_events (docs/PROTOCOL.md §5.3, §5.4), with the history
// extension's positions and idempotency keys (§13.4, §13.5) and the push offline fallback (§16.5).
import type { App } from '../apps/registry.js';
import type { ServerContext } from '../context.js';
import type { PublishPositions } from '../publish/types.js';
import { offlineFallback, type PushAnswer } from '../push/offline.js';
import { describeEvent, withPublishSpan } from './publish-span.js';
import type { Endpoint } from './endpoint.js';
import { channelAttributes } from './channel-info.js';
import { parseJsonObject, parseTrigger, type TriggerInput } from './event-input.js';
import { idempotencyKey, idempotent } from './idempotency.js';
import { byChannel, HttpError, json } from './reply.js';

const MAX_BATCH = 10;

/** Answers carry `positions` only when a history channel was published to: otherwise byte-identical to Pusher's. */
const hasPositions = (positions: PublishPositions) => Object.keys(positions).length > 0;

export const triggerEvent: Endpoint = withPublishSpan(async ({ app, body, headers, ctx }, span) => {
  const fields = parseJsonObject(body);
  const trigger = parseTrigger(app, fields);
  describeEvent(span, trigger.name, trigger.channels.length, trigger.dataBytes);
  return idempotent(ctx, app, idempotencyKey(headers, fields), async () => {
    const positions = await ctx.pipeline.publishEvent(app, trigger, span);
    if (ctx.log.isLevelEnabled('debug')) {
      ctx.log.debug({ appId: app.id, channels: trigger.channels, event: trigger.name, bytes: trigger.dataBytes, exceptSocketId: trigger.socketId }, 'API publish');
    }
    const answer: { channels?: Record<string, Record<string, number>>; positions?: PublishPositions; push?: PushAnswer } = {};
    if (trigger.info.length > 0) {
      const channels = byChannel<Record<string, number>>();
      for (const channel of trigger.channels) channels[channel] = await channelAttributes(ctx.engine, app.id, channel, trigger.info);
      answer.channels = channels;
    }
    if (hasPositions(positions)) answer.positions = positions;
    if (trigger.push !== undefined) answer.push = await offlineFallback(ctx, app, trigger.channels, trigger.push);
    return json(answer);
  });
});

export const triggerBatch: Endpoint = withPublishSpan(async ({ app, body, headers, ctx }, span) => {
  const fields = parseJsonObject(body);
  const batch = fields.batch;
  if (!Array.isArray(batch)) throw new HttpError(400, 'Missing "batch": an array of events is required');
  if (batch.length > MAX_BATCH) throw new HttpError(400, `Batch too large: at most ${MAX_BATCH} events`);
  // All-or-nothing: every item is validated before any is published.
  const triggers = batch.map((item) => parseTrigger(app, item));
  if (ctx.tracing.enabled) describeEvent(span, triggers.map((t) => t.name).join(','), triggers.reduce((n, t) => n + t.channels.length, 0), triggers.reduce((n, t) => n + t.dataBytes, 0));
  return idempotent(ctx, app, idempotencyKey(headers, fields), async () => {
    const positions = await ctx.pipeline.publishBatch(app, triggers, span);
    if (ctx.log.isLevelEnabled('debug')) {
      ctx.log.debug({ appId: app.id, events: triggers.map((t) => `${t.name}@${t.channels.join(',')}`), bytes: triggers.reduce((n, t) => n + t.dataBytes, 0) }, 'API batch publish');
    }
    const answer: { batch?: Record<string, number>[]; positions?: PublishPositions[]; push?: PushAnswer } = {};
    if (triggers.some((t) => t.info.length > 0)) {
      answer.batch = await Promise.all(triggers.map((t) => (t.info.length === 0 ? {} : channelAttributes(ctx.engine, app.id, t.channels[0], t.info))));
    }
    if (positions.some(hasPositions)) answer.positions = positions;
    if (triggers.some((t) => t.push !== undefined)) answer.push = await batchPush(ctx, app, triggers);
    return json(answer);
  });
});

/** One answer for the batch: each item's push is its own publish (§16.5); their counts add up. */
async function batchPush(ctx: ServerContext, app: App, triggers: readonly TriggerInput[]): Promise<PushAnswer> {
  const answers = await Promise.all(triggers.map((t): PushAnswer | Promise<PushAnswer> => (t.push === undefined ? { queued: 0 } : offlineFallback(ctx, app, t.channels, t.push))));
  const error = answers.find((a) => a.error !== undefined)?.error;
  const queued = answers.reduce((sum, a) => sum + a.queued, 0);
  return error === undefined ? { queued } : { queued, error };
}
