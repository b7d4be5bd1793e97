// After-publish hooks (src/publish/pipeline.ts): a hook handed to the server sees every HTTP
// event, batch item and client event, per channel, with its source, actor and stream position —
// and nothing for member or subscription_count announcements. Against the in-memory engine and
// a real redis-server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import PusherServer from 'pusher';
import { hmacHex } from '../protocol/index.js';
import { loadConfig } from '../src/config/load.js';
import type { AfterPublish, Position, PublishedEvent } from '../src/publish/types.js';
import { startServer, type RunningServer } from '../src/server.js';
import { RawClient } from './support/in-process.js';
import { RedisServer } from './support/redis.js';

// History channels are sequenced (docs/PROTOCOL.md §13); `plain` is not.
const APP = { id: 'hooked', key: 'hooked-key', secret: 'hooked-secret', clientEvents: true, subscriptionCount: true, history: [{ channels: ['news', 'presence-room', 'alpha', 'beta'] }] };

interface Seen {
  source: string;
  channel: string;
  event: string;
  actor: string;
  exceptSocketId: string | undefined;
  userId: string | undefined;
  dataBytes: number;
  offset: number;
}

/** The engine's stream position as a number: today it is one, later `{offset, epoch}`. */
const offsetOf = (position: Position): number => (typeof position === 'number' ? position : (position as { offset: number }).offset);

class Recorder implements AfterPublish {
  readonly seen: Seen[] = [];
  /** `event@channel` → the frame the hook was given. */
  readonly frames = new Map<string, string>();
  published(e: PublishedEvent): void {
    this.frames.set(`${e.event}@${e.channel}`, e.frame);
    this.seen.push({ source: e.source, channel: e.channel, event: e.event, actor: e.actor, exceptSocketId: e.exceptSocketId, userId: e.userId, dataBytes: e.dataBytes, offset: offsetOf(e.position) });
  }
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(condition(), what);
}

function describeHooks(engine: 'local' | 'redis'): void {
  describe(`after-publish hooks (${engine} engine)`, () => {
    let redis: RedisServer | undefined;
    let server: RunningServer;
    const recorder = new Recorder();

    before(async () => {
      redis = engine === 'redis' ? await RedisServer.start() : undefined;
      const config = loadConfig({
        env: {},
        overrides: { host: '127.0.0.1', port: 0, logLevel: 'silent', apps: [APP], ...(redis ? { redisUrl: redis.url, redisPrefix: `hooks-${Date.now()}` } : {}) },
      });
      server = await startServer(config, { afterPublish: [recorder] });
    });

    after(async () => {
      await server.shutdown();
      await redis?.stop();
    });

    it('sees HTTP, batch and client events with source, actor and position; never member or count frames', async () => {
      const sdk = new PusherServer({ appId: APP.id, key: APP.key, secret: APP.secret, host: '127.0.0.1', port: String(server.port), useTLS: false });
      const joinPresence = async (userId: string): Promise<{ client: RawClient; socketId: string }> => {
        const client = await RawClient.connect(server.port, APP.key);
        const socketId = await client.established();
        const channelData = JSON.stringify({ user_id: userId });
        const auth = `${APP.key}:${hmacHex(APP.secret, `${socketId}:presence-room:${channelData}`)}`;
        client.send({ event: 'pusher:subscribe', data: { channel: 'presence-room', auth, channel_data: channelData } });
        await client.next((f) => f.event === 'pusher_internal:subscription_succeeded');
        client.send({ event: 'pusher:subscribe', data: { channel: 'news' } });
        await client.next((f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === 'news');
        return { client, socketId };
      };
      // Announcements: ann sees bob's member_added and the news subscription_count of 2.
      const ann = await joinPresence('ann');
      const bob = await joinPresence('bob');
      await ann.client.next((f) => f.event === 'pusher_internal:member_added');
      await ann.client.next((f) => f.event === 'pusher_internal:subscription_count' && (JSON.parse(f.data as string) as { subscription_count: number }).subscription_count === 2);

      await sdk.trigger('news', 'one', 'x');
      await sdk.trigger('plain', 'zero', 'x');
      await sdk.trigger(['news', 'presence-room'], 'two', { n: 2 }, { socket_id: ann.socketId });
      await sdk.triggerBatch([
        { channel: 'news', name: 'three', data: 'abc' },
        { channel: 'presence-room', name: 'four', data: 'défi' },
      ]);
      bob.client.send({ event: 'client-typing', channel: 'presence-room', data: { on: true } });
      await ann.client.next((f) => f.event === 'client-typing');
      await until(() => recorder.seen.length >= 7, `seven publishes seen, got ${JSON.stringify(recorder.seen)}`);

      const byKey = new Map(recorder.seen.map((s) => [`${s.event}@${s.channel}`, s]));
      assert.deepEqual([...byKey.keys()].sort(), ['four@presence-room', 'one@news', 'three@news', 'two@news', 'two@presence-room', 'client-typing@presence-room', 'zero@plain'].sort());
      assert.equal(recorder.seen.length, 7, 'one call per event per channel, none for member_added or subscription_count');

      // Hooks get the frame subscribers got: completed with its position on a history channel.
      const epoch = (/"epoch":"([^"]+)"/.exec(recorder.frames.get('one@news')!) ?? [])[1];
      assert.equal(recorder.frames.get('one@news'), `{"event":"one","data":"x","channel":"news","offset":1,"epoch":"${epoch}"}`);
      assert.equal(recorder.frames.get('zero@plain'), '{"event":"zero","data":"x","channel":"plain"}');
      assert.equal(byKey.get('zero@plain')?.offset, 0);

      assert.deepEqual(byKey.get('one@news'), { source: 'http', channel: 'news', event: 'one', actor: 'app', exceptSocketId: undefined, userId: undefined, dataBytes: 1, offset: 1 });
      assert.deepEqual(byKey.get('two@news'), { source: 'http', channel: 'news', event: 'two', actor: 'app', exceptSocketId: ann.socketId, userId: undefined, dataBytes: 7, offset: 2 });
      assert.equal(byKey.get('two@presence-room')?.offset, 1);
      assert.equal(byKey.get('three@news')?.offset, 3);
      assert.deepEqual(byKey.get('four@presence-room'), { source: 'http', channel: 'presence-room', event: 'four', actor: 'app', exceptSocketId: undefined, userId: undefined, dataBytes: 5, offset: 2 });
      assert.deepEqual(byKey.get('client-typing@presence-room'), {
        source: 'client',
        channel: 'presence-room',
        event: 'client-typing',
        actor: bob.socketId,
        exceptSocketId: bob.socketId,
        userId: 'bob',
        dataBytes: JSON.stringify({ on: true }).length,
        offset: 3,
      });

      // Leaving announces member_removed and a count to ann: still nothing for the hooks.
      bob.client.close();
      await ann.client.next((f) => f.event === 'pusher_internal:member_removed');
      await ann.client.next((f) => f.event === 'pusher_internal:subscription_count' && (JSON.parse(f.data as string) as { subscription_count: number }).subscription_count === 1);
      assert.equal(recorder.seen.length, 7);
      ann.client.close();
    });
  });
}

describeHooks('local');
describeHooks('redis');

describe('after-publish debug line', () => {
  it('debug mode logs each event per channel with source, actor, left-out socket and position, never the data', async () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const config = loadConfig({ env: {}, overrides: { host: '127.0.0.1', port: 0, apps: [APP] } });
    const server = await startServer(config, { log });
    try {
      const sdk = new PusherServer({ appId: APP.id, key: APP.key, secret: APP.secret, host: '127.0.0.1', port: String(server.port), useTLS: false });
      await sdk.trigger(['alpha', 'beta'], 'ping', 'secret-payload', { socket_id: '1.2' });
      const published = lines
        .filter((l) => l.msg === 'published')
        .map(({ appId, channel, event, bytes, source, actor, exceptSocketId, position }) => ({ appId, channel, event, bytes, source, actor, exceptSocketId, offset: offsetOf(position as Position) }));
      assert.deepEqual(
        published.sort((a, b) => String(a.channel).localeCompare(String(b.channel))),
        ['alpha', 'beta'].map((channel) => ({ appId: APP.id, channel, event: 'ping', bytes: 14, source: 'http', actor: 'app', exceptSocketId: '1.2', offset: 1 })),
      );
      assert.ok(!lines.some((l) => JSON.stringify(l).includes('secret-payload')), 'the data is never logged');
    } finally {
      await server.shutdown();
    }
  });
});
