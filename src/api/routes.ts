// The HTTP API's routes (docs/PROTOCOL.md §5.1): path, method, how the request authenticates, handler.
import type { RouteAuth } from '../auth/request-auth.js';
import { channelUsers, listChannels, showChannel } from './channels.js';
import type { Endpoint, RouteParams } from './endpoint.js';
import { triggerBatch, triggerEvent } from './events.js';
import { channelHistory } from './history.js';
import { terminateConnections } from './users.js';

export interface Route {
  method: 'GET' | 'POST';
  /** The first group is always the app id. */
  pattern: RegExp;
  auth: RouteAuth;
  params: (match: RegExpMatchArray) => RouteParams;
  endpoint: Endpoint;
}

/** Path segments are percent-decoded after routing; a malformed escape throws URIError (→ 400). */
export const segment = (value: string) => decodeURIComponent(value);

const none = (): RouteParams => ({});
const channel = (m: RegExpMatchArray): RouteParams => ({ channel: segment(m[2]) });

export const ROUTES: readonly Route[] = [
  { method: 'POST', pattern: /^\/apps\/([^/]+)\/events$/, auth: 'pusher-hmac', params: none, endpoint: triggerEvent },
  { method: 'POST', pattern: /^\/apps\/([^/]+)\/batch_events$/, auth: 'pusher-hmac', params: none, endpoint: triggerBatch },
  { method: 'GET', pattern: /^\/apps\/([^/]+)\/channels$/, auth: 'pusher-hmac', params: none, endpoint: listChannels },
  { method: 'GET', pattern: /^\/apps\/([^/]+)\/channels\/([^/]+)$/, auth: 'pusher-hmac', params: channel, endpoint: showChannel },
  { method: 'GET', pattern: /^\/apps\/([^/]+)\/channels\/([^/]+)\/users$/, auth: 'pusher-hmac', params: channel, endpoint: channelUsers },
  { method: 'GET', pattern: /^\/apps\/([^/]+)\/channels\/([^/]+)\/history$/, auth: 'pusher-hmac', params: channel, endpoint: channelHistory },
  {
    method: 'POST',
    pattern: /^\/apps\/([^/]+)\/users\/([^/]+)\/terminate_connections$/,
    auth: 'pusher-hmac',
    params: (m) => ({ userId: segment(m[2]) }),
    endpoint: terminateConnections,
  },
];
