// The HTTP API's routes (docs/PROTOCOL.md §5.1, §14.5, §16.4): path, method, how the request authenticates, handler.
import type { RouteAuth } from '../auth/request-auth.js';
import { publishToInterests, publishToUsers } from './beams.js';
import { presenceHeartbeat, presenceJoin, presenceLeave, presenceRoster } from './broadcasty/presence.js';
import { publish } from './broadcasty/publish.js';
import { replay } from './broadcasty/replay.js';
import { channelUsers, listChannels, showChannel } from './channels.js';
import type { Endpoint, RouteParams } from './endpoint.js';
import { triggerBatch, triggerEvent } from './events.js';
import { listOwnDevices, listUserDevices, registerDevice, registerOwnDevice, removeDevice, removeOwnDevice, sendOwnPush, sendPush } from './push.js';
import { channelHistory } from './history.js';
import { revokeToken } from './revoked-tokens.js';
import { terminateConnections } from './users.js';

export interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  /**
   * `pusher`: the Pusher HTTP API (§5), the first group of the pattern is the app id, errors are
   * plain text. `broadcasty`: the JWT endpoints (§14.5), the app is `?app=<key>`, apps in hmac
   * mode answer 404, errors are `{"error": message}`, POSTs carry a nonce (§14.6). `beams`: the
   * Beams publish API (§16.4), the first group is the instance id (the app id), errors are
   * `{"error", "description"}`.
   */
  api: 'pusher' | 'broadcasty' | 'beams';
  pattern: RegExp;
  auth: RouteAuth;
  params: (match: RegExpMatchArray) => RouteParams;
  endpoint: Endpoint;
}

/** Path segments are percent-decoded after routing; a malformed escape throws URIError (→ 400). */
export const segment = (value: string) => decodeURIComponent(value);

/** Every path of the JWT endpoints (§14.5), routed or not, answers errors as JSON. */
export const isBroadcastyPath = (path: string) => path.startsWith('/broadcasty/') || path === '/broadcasty';

const none = (): RouteParams => ({});
const channel = (m: RegExpMatchArray): RouteParams => ({ channel: segment(m[2]) });

const device = (m: RegExpMatchArray): RouteParams => ({ deviceId: segment(m[2]) });

const broadcasty = (method: Route['method'], path: string, endpoint: Endpoint, params: Route['params'] = none): Route => ({
  method,
  api: 'broadcasty',
  pattern: new RegExp(`^/broadcasty/${path}$`),
  auth: 'bearer-jwt',
  params,
  endpoint,
});

export const ROUTES: readonly Route[] = [
  { method: 'POST', api: 'pusher', pattern: /^\/apps\/([^/]+)\/events$/, auth: 'pusher-hmac', params: none, endpoint: triggerEvent },
  { method: 'POST', api: 'pusher', pattern: /^\/apps\/([^/]+)\/batch_events$/, auth: 'pusher-hmac', params: none, endpoint: triggerBatch },
  { method: 'GET', api: 'pusher', pattern: /^\/apps\/([^/]+)\/channels$/, auth: 'pusher-hmac', params: none, endpoint: listChannels },
  { method: 'GET', api: 'pusher', pattern: /^\/apps\/([^/]+)\/channels\/([^/]+)$/, auth: 'pusher-hmac', params: channel, endpoint: showChannel },
  { method: 'GET', api: 'pusher', pattern: /^\/apps\/([^/]+)\/channels\/([^/]+)\/users$/, auth: 'pusher-hmac', params: channel, endpoint: channelUsers },
  { method: 'GET', api: 'pusher', pattern: /^\/apps\/([^/]+)\/channels\/([^/]+)\/history$/, auth: 'pusher-hmac', params: channel, endpoint: channelHistory },
  {
    method: 'POST',
    api: 'pusher',
    pattern: /^\/apps\/([^/]+)\/users\/([^/]+)\/terminate_connections$/,
    auth: 'pusher-hmac',
    params: (m) => ({ userId: segment(m[2]) }),
    endpoint: terminateConnections,
  },
  // §14.6: the app's own servers revoke a token's jti, signed like every §5 request.
  { method: 'POST', api: 'pusher', pattern: /^\/apps\/([^/]+)\/revoked_tokens$/, auth: 'pusher-hmac', params: none, endpoint: revokeToken },
  // §16.2, §16.3: push devices and sends.
  { method: 'POST', api: 'pusher', pattern: /^\/apps\/([^/]+)\/push$/, auth: 'pusher-hmac', params: none, endpoint: sendPush },
  { method: 'POST', api: 'pusher', pattern: /^\/apps\/([^/]+)\/push\/devices$/, auth: 'pusher-hmac', params: none, endpoint: registerDevice },
  { method: 'DELETE', api: 'pusher', pattern: /^\/apps\/([^/]+)\/push\/devices\/([^/]+)$/, auth: 'pusher-hmac', params: device, endpoint: removeDevice },
  {
    method: 'GET',
    api: 'pusher',
    pattern: /^\/apps\/([^/]+)\/users\/([^/]+)\/push\/devices$/,
    auth: 'pusher-hmac',
    params: (m) => ({ userId: segment(m[2]) }),
    endpoint: listUserDevices,
  },
  broadcasty('POST', 'push', sendOwnPush),
  broadcasty('POST', 'push/devices', registerOwnDevice),
  broadcasty('GET', 'push/devices', listOwnDevices),
  // The pattern's group 1 is the whole path for /broadcasty routes; the device id is group 2.
  broadcasty('DELETE', '(push/devices/([^/]+))', removeOwnDevice, device),
  // §16.4: the Beams publish API; the instance id is the app id.
  { method: 'POST', api: 'beams', pattern: /^\/publish_api\/v1\/instances\/([^/]+)\/publishes\/users$/, auth: 'beams-secret', params: none, endpoint: publishToUsers },
  { method: 'POST', api: 'beams', pattern: /^\/publish_api\/v1\/instances\/([^/]+)\/publishes\/interests$/, auth: 'beams-secret', params: none, endpoint: publishToInterests },
  broadcasty('POST', 'publish', publish),
  broadcasty('GET', 'replay', replay),
  broadcasty('POST', 'presence/join', presenceJoin),
  broadcasty('POST', 'presence/heartbeat', presenceHeartbeat),
  broadcasty('POST', 'presence/leave', presenceLeave),
  broadcasty('GET', 'presence', presenceRoster),
];
