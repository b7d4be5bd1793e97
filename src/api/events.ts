// POST /apps/{id}/events and /batch_events (docs/PROTOCOL.md §5.3, §5.4).
import type { Endpoint } from './endpoint.js';
import { channelAttributes } from './channel-info.js';
import { parseJsonObject, parseTrigger } from './event-input.js';
import { byChannel, HttpError, json } from './reply.js';

const MAX_BATCH = 10;

export const triggerEvent: Endpoint = async ({ app, body, ctx }) => {
  const trigger = parseTrigger(app, parseJsonObject(body));
  await ctx.pipeline.publishEvent(app, trigger);
  if (ctx.log.isLevelEnabled('debug')) {
    ctx.log.debug({ appId: app.id, channels: trigger.channels, event: trigger.name, bytes: trigger.dataBytes, exceptSocketId: trigger.socketId }, 'API publish');
  }
  if (trigger.info.length === 0) return json({});
  const channels = byChannel<Record<string, number>>();
  for (const channel of trigger.channels) channels[channel] = await channelAttributes(ctx.engine, app.id, channel, trigger.info);
  return json({ channels });
};

export const triggerBatch: Endpoint = async ({ app, body, ctx }) => {
  const batch = parseJsonObject(body).batch;
  if (!Array.isArray(batch)) throw new HttpError(400, 'Missing "batch": an array of events is required');
  if (batch.length > MAX_BATCH) throw new HttpError(400, `Batch too large: at most ${MAX_BATCH} events`);
  // All-or-nothing: every item is validated before any is published.
  const triggers = batch.map((item) => parseTrigger(app, item));
  await ctx.pipeline.publishBatch(app, triggers);
  if (ctx.log.isLevelEnabled('debug')) {
    ctx.log.debug({ appId: app.id, events: triggers.map((t) => `${t.name}@${t.channels.join(',')}`), bytes: triggers.reduce((n, t) => n + t.dataBytes, 0) }, 'API batch publish');
  }
  if (triggers.every((t) => t.info.length === 0)) return json({});
  const attributes = await Promise.all(
    triggers.map((t) => (t.info.length === 0 ? {} : channelAttributes(ctx.engine, app.id, t.channels[0], t.info))),
  );
  return json({ batch: attributes });
};
