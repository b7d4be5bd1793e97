// POST /broadcasty/publish (docs/PROTOCOL.md §14.5): a JWT principal publishes one event through
// the one pipeline, with the §13.5 idempotency key and §13.4 partition key, and optionally a
// correlation id and meta that ride on the frame, and a notification for offline users (§16.5).
import { encodeExtras } from '../../../protocol/index.js';
import { channelBucket, principalId } from '../../auth/buckets.js';
import type { Endpoint } from '../endpoint.js';
import { offlineFallback } from '../../push/offline.js';
import { describeEvent, withPublishSpan } from '../publish-span.js';
import { checkDataSize, eventData, eventName, parseJsonObject, partitionKeyOf, publishNotification } from '../event-input.js';
import { idempotencyKey, idempotent } from '../idempotency.js';
import { HttpError, json } from '../reply.js';
import { withinRate } from './guard.js';
import { allow, channelNamed } from './input.js';

const MAX_CORRELATION_ID = 200;

export const publish: Endpoint = withPublishSpan(async ({ app, body, headers, principal, ctx }, span) => {
  const fields = parseJsonObject(body);
  const channel = channelNamed(fields.channel, 'in the body');
  // authorize → rate limit → validate, the pipeline's order (publish/pipeline.ts).
  await allow(app, principal!, channel, 'publish');
  // Pushing to the user a channel names is the policy's `push`, as a send to them is (§16.3).
  if (fields.push !== undefined && fields.push !== null) await allow(app, principal!, channel, 'push');
  await withinRate(ctx, app, channelBucket(channel), app.jwt.rateLimits.perChannel, Date.now(), `channel ${channel}`);
  const name = eventName(fields.event, 'event');
  const data = eventData(fields.data);
  const extras = encodeExtras(correlationIdOf(fields.correlationId), metaOf(fields.meta));
  const partitionKey = partitionKeyOf(fields.partitionKey, 'partitionKey');
  const key = idempotencyKey(headers, fields, 'idempotencyKey');
  // Per principal, as its nonces: another tenant's (or user's) key of the same text is another key.
  const scopedKey = key === undefined ? undefined : `jwt:${principalId(principal!)}:${key}`;
  const dataBytes = checkDataSize(app, data);
  describeEvent(span, name, 1, dataBytes);
  const push = publishNotification(app, fields.push);
  // Meta reaches every subscriber beside the data: held to the same cap.
  if (extras !== undefined && Buffer.byteLength(extras) > app.maxEventPayloadKb * 1024) throw new HttpError(413, `"meta" too large: at most ${app.maxEventPayloadKb} KB`);
  return idempotent(ctx, app, scopedKey, async () => {
    const positions = await ctx.pipeline.publishEvent(app, { name, data, dataBytes, channels: [channel], partitionKey, extras, actor: `user:${principal!.userId}` }, span);
    const position = positions[channel];
    const answer = position === undefined ? { ok: true } : { ok: true, position };
    return json(push === undefined ? answer : { ...answer, push: await offlineFallback(ctx, app, [channel], push) });
  });
});

function correlationIdOf(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value === '' || value.length > MAX_CORRELATION_ID) {
    throw new HttpError(400, `Invalid "correlationId": expected a string of 1 to ${MAX_CORRELATION_ID} characters`);
  }
  return value;
}

function metaOf(value: unknown): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw new HttpError(400, 'Invalid "meta": expected a JSON object');
  return value as Record<string, unknown>;
}
