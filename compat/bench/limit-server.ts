// The "limit": the least a Pusher-compatible server on uWebSockets.js can do for the bench
// scenarios — no signature checks, no validation, no limits. Whatever Broadcasty costs on
// top of this is the price of the protocol features. With --verify-signatures it also checks
// each POST /events signature (HMAC-SHA256 of method, path and sorted query, body_md5, 600 s
// clock window) and answers 401 otherwise: the least any server that must not publish unsigned
// events does. Usage: tsx limit-server.ts --port P [--host H] [--verify-signatures --key K --secret S]
import { createHash, createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, resolve as resolvePath } from 'node:path';
import { parseArgs } from 'node:util';
import type * as uWS from 'uWebSockets.js';

// The native builds src/transport/load-uws.ts tries, in its order (this file is built standalone,
// so it cannot import it): v20.57 needs glibc ≥ 2.38, the trufflesuite v20.30 binary Node ≤ 20.
const require = createRequire(import.meta.url);
const uws = ((): typeof uWS => {
  try {
    return require('uWebSockets.js') as typeof uWS;
  } catch (error) {
    try {
      const binary = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
      return require(resolvePath(dirname(require.resolve('uws-trufflesuite')), '../binaries', binary)) as typeof uWS;
    } catch {
      throw error;
    }
  }
})();

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '6002' },
    host: { type: 'string', default: '127.0.0.1' },
    'verify-signatures': { type: 'boolean', default: false },
    key: { type: 'string', default: 'app-key' },
    secret: { type: 'string', default: 'app-secret' },
  },
});
const host = values.host!;
const port = Number(values.port);
const verifySignatures = values['verify-signatures']!;

interface Client {
  socketId: string;
  /** presence channel → user_id, to announce member_removed when the socket goes. */
  presence: Map<string, string>;
}

// Presence bookkeeping is the minimum that keeps pusher-js-style clients and the presence
// scenario working: distinct users per channel with a connection count each.
const members = new Map<string, Map<string, { info: unknown; sockets: number }>>();
const decoder = new TextDecoder();
let nextSocket = 0;

const app = uws.App();

function frame(event: string, channel: string, data: string, userId?: string): string {
  return JSON.stringify(userId === undefined ? { event, channel, data } : { event, channel, data, user_id: userId });
}

function join(ws: uWS.WebSocket<Client>, channel: string, channelData: string): string {
  const { user_id, user_info } = JSON.parse(channelData) as { user_id: string | number; user_info?: unknown };
  const userId = String(user_id);
  let channelMembers = members.get(channel);
  if (!channelMembers) members.set(channel, (channelMembers = new Map()));
  const member = channelMembers.get(userId);
  if (member) member.sockets++;
  else {
    channelMembers.set(userId, { info: user_info ?? null, sockets: 1 });
    ws.publish(channel, frame('pusher_internal:member_added', channel, JSON.stringify({ user_id, user_info })));
  }
  ws.getUserData().presence.set(channel, userId);
  const hash = Object.fromEntries([...channelMembers].map(([id, m]) => [id, m.info]));
  return JSON.stringify({ presence: { count: channelMembers.size, ids: Object.keys(hash), hash } });
}

/** Called after the socket left the topic, so app.publish reaches only the others. */
function leave(client: Client, channel: string): void {
  const userId = client.presence.get(channel);
  if (userId === undefined) return;
  client.presence.delete(channel);
  const channelMembers = members.get(channel);
  const member = channelMembers?.get(userId);
  if (!channelMembers || !member || --member.sockets > 0) return;
  channelMembers.delete(userId);
  if (channelMembers.size === 0) members.delete(channel);
  app.publish(channel, frame('pusher_internal:member_removed', channel, JSON.stringify({ user_id: userId })));
}

function onMessage(ws: uWS.WebSocket<Client>, message: ArrayBuffer): void {
  let msg: { event?: string; channel?: string; data?: unknown };
  try {
    msg = JSON.parse(decoder.decode(message));
  } catch {
    return;
  }
  const data = (msg.data ?? {}) as { channel?: string; channel_data?: string };
  switch (msg.event) {
    case 'pusher:ping':
      ws.send('{"event":"pusher:pong","data":"{}"}');
      return;
    case 'pusher:subscribe': {
      const channel = String(data.channel);
      if (ws.isSubscribed(channel)) return;
      ws.subscribe(channel); // before join(): uWS only lets subscribers ws.publish
      const reply = channel.startsWith('presence-') && data.channel_data ? join(ws, channel, data.channel_data) : '{}';
      ws.send(frame('pusher_internal:subscription_succeeded', channel, reply));
      return;
    }
    case 'pusher:unsubscribe': {
      const channel = String(data.channel);
      ws.unsubscribe(channel);
      leave(ws.getUserData(), channel);
      return;
    }
    default:
      if (msg.event?.startsWith('client-') && msg.channel && ws.isSubscribed(msg.channel)) {
        const payload = typeof msg.data === 'string' ? msg.data : JSON.stringify(msg.data);
        ws.publish(msg.channel, frame(msg.event, msg.channel, payload, ws.getUserData().presence.get(msg.channel)));
      }
  }
}

app.ws<Client>('/app/:key', {
  compression: uws.DISABLED,
  maxPayloadLength: 100 * 1024,
  idleTimeout: 960,
  // Buffer rather than drop for slow readers: the limit must never lose a message.
  maxBackpressure: 64 * 1024 * 1024,
  upgrade: (res, req, context) => {
    const client: Client = { socketId: `${process.pid}.${++nextSocket}`, presence: new Map() };
    res.upgrade(client, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
  },
  open: (ws) => {
    const data = JSON.stringify({ socket_id: ws.getUserData().socketId, activity_timeout: 120 });
    ws.send(JSON.stringify({ event: 'pusher:connection_established', data }));
  },
  message: onMessage,
  close: (ws) => {
    const client = ws.getUserData();
    for (const channel of [...client.presence.keys()]) leave(client, channel);
  },
});

/** The Pusher REST signature (PROTOCOL §5.2), written plainly: true when the request may publish. */
function signed(path: string, rawQuery: string, body: Buffer): boolean {
  const params = new Map<string, string>();
  for (const part of rawQuery.split('&')) {
    const eq = part.indexOf('=');
    if (eq > 0) params.set(part.slice(0, eq).toLowerCase(), decodeURIComponent(part.slice(eq + 1)));
  }
  const signature = params.get('auth_signature');
  if (params.get('auth_key') !== values.key || signature === undefined) return false;
  if (Math.abs(Date.now() / 1000 - Number(params.get('auth_timestamp'))) >= 600) return false;
  if (body.length > 0 && params.get('body_md5') !== createHash('md5').update(body).digest('hex')) return false;
  params.delete('auth_signature');
  const query = [...params.keys()].sort().map((k) => `${k}=${params.get(k)}`).join('&');
  return createHmac('sha256', values.secret!).update(`POST\n${path}\n${query}`).digest('hex') === signature;
}

app.post('/apps/:id/events', (res, req) => {
  let aborted = false;
  const chunks: Buffer[] = [];
  const path = verifySignatures ? req.getUrl() : '';
  const query = verifySignatures ? req.getQuery() ?? '' : '';
  res.onAborted(() => (aborted = true));
  res.onData((chunk, isLast) => {
    chunks.push(Buffer.from(chunk.slice(0))); // uWS reuses the chunk's memory after this callback
    if (!isLast || aborted) return;
    let status = '200 OK';
    try {
      const raw = Buffer.concat(chunks);
      if (verifySignatures && !signed(path, query, raw)) {
        res.cork(() => res.writeStatus('401 Unauthorized').end('Invalid signature'));
        return;
      }
      const body = JSON.parse(raw.toString()) as { name: string; data: string; channels?: string[]; channel?: string };
      // One frame built per channel, then one native publish fan-out.
      for (const channel of body.channels ?? [body.channel ?? '']) app.publish(channel, frame(body.name, channel, body.data));
    } catch {
      status = '400 Bad Request';
    }
    res.cork(() => res.writeStatus(status).writeHeader('Content-Type', 'application/json').end('{}'));
  });
});

app.get('/up', (res) => {
  res.writeHeader('Content-Type', 'application/json').end('{"health":"OK"}');
});
app.any('/*', (res) => {
  res.writeStatus('404 Not Found').end('Not found');
});

app.listen(host, port, (listenSocket) => {
  if (!listenSocket) {
    console.error(`limit server: cannot listen on ${host}:${port}`);
    process.exit(1);
  }
  console.log(`Limit server${verifySignatures ? ' (signatures checked)' : ''} listening on http://${host}:${port}`);
  const stop = (): void => {
    uws.us_listen_socket_close(listenSocket);
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
});
