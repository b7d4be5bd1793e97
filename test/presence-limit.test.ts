// maxPresenceMembers holds under concurrent joins: the limit check and the join are one engine
// step (one Lua script on Redis), so users joining at once on two nodes never pass it together.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signChannel } from '../protocol/index.js';
import type { RunningServer } from '../src/server.js';
import { RawClient, startTestServer, type Frame } from './support/in-process.js';
import { RedisServer } from './support/redis.js';

const LIMIT = 3;
const USERS = 10;
const APP = { id: 'app-id', key: 'app-key', secret: 'app-secret', maxPresenceMembers: LIMIT };

/** Connects USERS distinct users (round robin over the ports), then subscribes them all at once. */
async function joinAtOnce(ports: number[], channel: string): Promise<{ clients: RawClient[]; answers: Frame[] }> {
  const clients = await Promise.all(Array.from({ length: USERS }, (_, i) => RawClient.connect(ports[i % ports.length])));
  const socketIds = await Promise.all(clients.map((c) => c.established()));
  clients.forEach((client, i) => {
    const channelData = JSON.stringify({ user_id: `user-${i}` });
    const auth = signChannel(APP.key, APP.secret, socketIds[i], channel, channelData);
    client.send({ event: 'pusher:subscribe', data: { channel, auth, channel_data: channelData } });
  });
  const answered = (f: Frame) => f.event === 'pusher_internal:subscription_succeeded' || f.event === 'pusher:error';
  const answers = await Promise.all(clients.map((c) => c.next(answered, 5000)));
  return { clients, answers };
}

function assertLimitHeld(answers: Frame[]): void {
  const succeeded = answers.filter((f) => f.event === 'pusher_internal:subscription_succeeded');
  const refused = answers.filter((f) => f.event === 'pusher:error');
  assert.equal(succeeded.length, LIMIT, `subscription_succeeded: ${JSON.stringify(answers)}`);
  assert.equal(refused.length, USERS - LIMIT);
  for (const f of refused) assert.match(JSON.stringify(f.data), /maximum members per presence channel limit was reached/);
  // Every member that got in sees a roster within the limit.
  for (const f of succeeded) assert.ok((JSON.parse(f.data as string) as { presence: { count: number } }).presence.count <= LIMIT);
}

describe('maxPresenceMembers under concurrent joins', () => {
  let redis: RedisServer;
  const servers: RunningServer[] = [];

  before(async () => {
    redis = await RedisServer.start();
  });

  after(async () => {
    await Promise.all(servers.map((s) => s.shutdown()));
    await redis.stop();
  });

  it(`memory engine: ${USERS} users at once, limit ${LIMIT} → exactly ${LIMIT} get in`, async () => {
    const server = await startTestServer({ apps: [APP] });
    servers.push(server);
    const { clients, answers } = await joinAtOnce([server.port], 'presence-crowd');
    assertLimitHeld(answers);
    for (const c of clients) c.close();
  });

  it(`Redis engine: ${USERS} users at once over two nodes, limit ${LIMIT} → exactly ${LIMIT} get in, cluster-wide`, async () => {
    const nodes = await Promise.all([0, 1].map(() => startTestServer({ apps: [APP], redisUrl: redis.url })));
    servers.push(...nodes);
    const { clients, answers } = await joinAtOnce(nodes.map((n) => n.port), 'presence-crowd');
    assertLimitHeld(answers);
    // Refused users left no trace: a second socket of an admitted user, on the other node, sees
    // exactly the admitted members.
    const admitted = answers.flatMap((f, i) => (f.event === 'pusher_internal:subscription_succeeded' ? [i] : []));
    const late = await RawClient.connect(nodes[(admitted[0] + 1) % 2].port);
    const socketId = await late.established();
    const channelData = JSON.stringify({ user_id: `user-${admitted[0]}` });
    late.send({ event: 'pusher:subscribe', data: { channel: 'presence-crowd', auth: signChannel(APP.key, APP.secret, socketId, 'presence-crowd', channelData), channel_data: channelData } });
    const roster = await late.next((f) => f.event === 'pusher_internal:subscription_succeeded');
    const ids = (JSON.parse(roster.data as string) as { presence: { ids: string[] } }).presence.ids;
    assert.deepEqual([...ids].sort(), admitted.map((i) => `user-${i}`).sort());
    for (const c of [...clients, late]) c.close();
  });
});
