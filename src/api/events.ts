// POST /apps/{id}/events and /batch_events (docs/PROTOCOL.md §5.3, §5.4), with the history
// extension's positions and idempotency keys (§13.4, §13.5).
import type { PublishPositions } from '../publish/types.js';
import type { Endpoint } from './endpoint.js';
import { channelAttributes } from './channel-info.js';
import { parseJsonObject, parseTrigger } from './event-input.js';
import { idempotencyKey, idempotent } from './idempotency.js';
import { byChannel, HttpError, json } from './reply.js';

const MAX_BATCH = 10;

/** Answers carry `positions` only when a history channel was published to: otherwise byte-identical to Pusher's. */
const hasPositions = (positions: PublishPositions) => Object.keys(positions).length > 0;

export const triggerEvent: Endpoint = async ({ app, body, headers, ctx }) => {
  const fields = parseJsonObject(body);
  const trigger = parseTrigger(app, fields);
  return idempotent(ctx, app, idempotencyKey(headers, fields), async () => {
    const positions = await ctx.pipeline.publishEvent(app, trigger);
    if (ctx.log.isLevelEnabled('debug')) {
      ctx.log.debug({ appId: app.id, channels: trigger.channels, event: trigger.name, bytes: trigger.dataBytes, exceptSocketId: trigger.socketId }, 'API publish');
    }
    const answer: { channels?: Record<string, Record<string, number>>; positions?: PublishPositions } = {};
    if (trigger.info.length > 0) {
      const channels = byChannel<Record<string, number>>();
      for (const channel of trigger.channels) channels[channel] = await channelAttributes(ctx.engine, app.id, channel, trigger.info);
      answer.channels = channels;
    }
    if (hasPositions(positions)) answer.positions = positions;
    return json(answer);
  });
};

export const triggerBatch: Endpoint = async ({ app, body, headers, ctx }) => {
  const fields = parseJsonObject(body);
  const batch = fields.batch;
  if (!Array.isArray(batch)) throw new HttpError(400, 'Missing "batch": an array of events is required');
  if (batch.length > MAX_BATCH) throw new HttpError(400, `Batch too large: at most ${MAX_BATCH} events`);
  // All-or-nothing: every item is validated before any is published.
  const triggers = batch.map((item) => parseTrigger(app, item));
  return idempotent(ctx, app, idempotencyKey(headers, fields), async () => {
    const positions = await ctx.pipeline.publishBatch(app, triggers);
    if (ctx.log.isLevelEnabled('debug')) {
      ctx.log.debug({ appId: app.id, events: triggers.map((t) => `${t.name}@${t.channels.join(',')}`), bytes: triggers.reduce((n, t) => n + t.dataBytes, 0) }, 'API batch publish');
    }
    const answer: { batch?: Record<string, number>[]; positions?: PublishPositions[] } = {};
    if (triggers.some((t) => t.info.length > 0)) {
      answer.batch = await Promise.all(triggers.map((t) => (t.info.length === 0 ? {} : channelAttributes(ctx.engine, app.id, t.channels[0], t.info))));
    }
    if (positions.some(hasPositions)) answer.positions = positions;
    return json(answer);
  });
};
