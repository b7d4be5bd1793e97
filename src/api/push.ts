// The push endpoints (docs/PROTOCOL.md §16.2, §16.3): device registration and sends, for a JWT
// principal (/broadcasty/push…, the device is the token's user's) and for the app's backend
// (/apps/{id}/push…, signed as §5.2). Apps without `push` answer 404.
import { SERVER_TO_USER_PREFIX } from '../../protocol/index.js';
import type { App } from '../apps/registry.js';
import { signedInUserId } from '../auth/tenancy.js';
import type { ServerContext } from '../context.js';
import { parseNotification } from './push-notification.js';
import { parseInterests, parseRegistration } from './push-registration.js';
import type { Device } from '../push/types.js';
import type { HttpReply } from '../transport/types.js';
import { allow } from './broadcasty/input.js';
import type { Endpoint, EndpointInput } from './endpoint.js';
import { parseJsonObject } from './event-input.js';
import { HttpError, json } from './reply.js';

const MAX_USERS = 1000;
const MAX_USER_ID = 200;
const NO_CONTENT: HttpReply = { status: 204, body: '' };

/** An endpoint of apps with push settings: the others answer 404. */
const withPush =
  (handle: (input: EndpointInput, push: NonNullable<App['push']>) => Promise<HttpReply>): Endpoint =>
  async (input) => {
    if (input.app.push === undefined) throw new HttpError(404, 'Push notifications are not enabled for this app');
    return handle(input, input.app.push);
  };

function userIdOf(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '' || value.length > MAX_USER_ID) throw new HttpError(400, `Invalid "${field}": a user id of 1-${MAX_USER_ID} characters`);
  return value;
}

const registered = (device: Device) => ({ id: device.id, provider: device.provider, user_id: device.userId ?? null, interests: device.interests });
const listed = (device: Device) => ({ id: device.id, provider: device.provider, interests: device.interests, created_at: device.createdAt });

async function register({ ctx }: EndpointInput, push: NonNullable<App['push']>, device: Device): Promise<HttpReply> {
  const added = await ctx.push.devices.register(device, push.maxDevicesPerUser);
  return json(registered(device), added ? 201 : 200);
}

async function userDevices(ctx: ServerContext, app: App, userId: string): Promise<HttpReply> {
  const devices = await ctx.push.devices.forUsers(app.id, [userId]);
  return json({ devices: devices.sort((a, b) => a.createdAt - b.createdAt).map(listed) });
}

interface SendTargets {
  users: string[];
  interests: string[];
}

function sendTargets(fields: Record<string, unknown>): SendTargets {
  const { users } = fields;
  if (users !== undefined && (!Array.isArray(users) || users.length > MAX_USERS)) throw new HttpError(400, `Invalid "users": an array of at most ${MAX_USERS} user ids`);
  const targets = { users: [...new Set(((users ?? []) as unknown[]).map((u) => userIdOf(u, 'users')))], interests: parseInterests(fields.interests) };
  if (targets.users.length === 0 && targets.interests.length === 0) throw new HttpError(400, 'Missing "users" or "interests": at least one user or interest is required');
  return targets;
}

async function send({ app, ctx }: EndpointInput, fields: Record<string, unknown>, targets: SendTargets): Promise<HttpReply> {
  const notification = parseNotification(fields.notification);
  const [byUser, byInterest] = await Promise.all([ctx.push.devices.forUsers(app.id, targets.users), ctx.push.devices.forInterests(app.id, targets.interests)]);
  const queued = await ctx.push.send(app, [...byUser, ...byInterest], notification);
  return json({ publish_id: queued.publishId, devices: queued.devices }, 202);
}

// Signed by the app's backend (§5.2).

export const registerDevice = withPush(async (input, push) => {
  const fields = parseJsonObject(input.body);
  const userId = fields.user_id === undefined || fields.user_id === null ? undefined : userIdOf(fields.user_id, 'user_id');
  return register(input, push, parseRegistration(input.app, fields, userId));
});

export const removeDevice = withPush(async ({ app, route, ctx }) => {
  if (!(await ctx.push.devices.remove(app.id, route.deviceId!))) throw new HttpError(404, `Unknown device ${route.deviceId!.slice(0, 100)}`);
  return NO_CONTENT;
});

export const listUserDevices = withPush(async ({ app, route, ctx }) => userDevices(ctx, app, route.userId!));

export const sendPush = withPush(async (input) => {
  const fields = parseJsonObject(input.body);
  return send(input, fields, sendTargets(fields));
});

// For a JWT principal (§14.5): the device is the token's user's.

export const registerOwnDevice = withPush(async (input, push) => {
  const { app, principal } = input;
  const device = parseRegistration(app, parseJsonObject(input.body), signedInUserId(principal!));
  // An interest is the channel of the same name: following it needs the policy's subscribe there.
  for (const interest of device.interests) await allow(app, principal!, interest, 'subscribe');
  return register(input, push, device);
});

export const listOwnDevices = withPush(async ({ app, principal, ctx }) => userDevices(ctx, app, signedInUserId(principal!)));

export const removeOwnDevice = withPush(async ({ app, principal, route, ctx }) => {
  const device = await ctx.push.devices.get(app.id, route.deviceId!);
  // Another user's device answers as a missing one: ids are not disclosed.
  if (device === undefined || device.userId !== signedInUserId(principal!)) throw new HttpError(404, `Unknown device ${route.deviceId!.slice(0, 100)}`);
  await ctx.push.devices.remove(app.id, device.id);
  return NO_CONTENT;
});

export const sendOwnPush = withPush(async (input) => {
  const { app, principal } = input;
  const fields = parseJsonObject(input.body);
  const targets = sendTargets(fields);
  for (const user of targets.users) await allow(app, principal!, `${SERVER_TO_USER_PREFIX}${user}`, 'push');
  for (const interest of targets.interests) await allow(app, principal!, interest, 'push');
  return send(input, fields, targets);
});
