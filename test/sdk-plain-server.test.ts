// The client SDK against a plain Pusher-protocol server: an app in hmac mode without history, as
// hosted Pusher, soketi or Reverb would be (docs/PROTOCOL.md §14.1). Subscribing and receiving
// work as for any Pusher client; the Broadcasty extensions fail with `unsupported` and a message
// that says why, not with a hang or a generic error.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BroadcastyError, type BroadcastyClient } from '../client/sdk/index.js';
import type { RunningServer } from '../src/server.js';
import { APP, sdk, until } from './support/cluster.js';
import { startTestServer } from './support/in-process.js';
import { connected, record, sdkClient } from './support/sdk-client.js';

describe('client SDK against a plain Pusher server (hmac app, no history)', () => {
  let server: RunningServer;
  const clients: BroadcastyClient[] = [];
  const QUIET = { id: 'quiet-id', key: 'quiet-key', secret: 'quiet-secret', subscriptionErrorFrames: false };
  before(async () => (server = await startTestServer({ apps: [APP, QUIET] })));
  after(async () => {
    for (const c of clients) c.disconnect();
    await server.shutdown();
  });
  const client = (appKey = APP.key) => {
    const c = sdkClient(server.port, { appKey, transport: 'ws' });
    clients.push(c);
    return c;
  };

  it('subscribes and receives what the pusher SDK publishes, frames without positions', async () => {
    const c = client();
    const news = record<{ title: string }>(c, 'news');
    await connected(c);
    await until(async () => {
      await sdk(server.port).trigger('news', 'published', { title: 'hello' });
      return news.messages.length > 0;
    }, 15_000, 'an event');
    assert.deepEqual(news.messages[0], { channel: 'news', event: 'published', data: { title: 'hello' } });
    assert.deepEqual(news.errors, []);
  });

  it('publish() rejects with unsupported and says the server has no Broadcasty publish endpoint', async () => {
    const c = client();
    await connected(c.connect());
    await assert.rejects(c.publish({ channel: 'news', event: 'published', payload: {} }), (error: unknown) => {
      assert.ok(error instanceof BroadcastyError);
      assert.equal(error.code, 'unsupported');
      assert.match(error.message, /no Broadcasty publish endpoint/);
      return true;
    });
    assert.equal(c.stats().queuedPublishes, 0);
  });

  it('fromSequence on a channel without history is reported as unsupported, and live events still arrive', async () => {
    const c = client();
    const news = record(c, 'news.from', 5);
    await until(() => news.errors.length > 0, 15_000, 'the error');
    assert.equal(news.errors[0].code, 'unsupported');
    assert.match(news.errors[0].message, /fromSequence needs a history channel/);
    await until(async () => {
      await sdk(server.port).trigger('news.from', 'published', 1);
      return news.messages.length > 0;
    }, 15_000, 'a live event');
    assert.deepEqual(c.stats().subscriptions.map((s) => s.channel), ['news.from']);
  });

  it('a private channel the app did not sign is refused through onError, from pusher:subscription_error or, when the app sends none, from pusher:error', async () => {
    for (const appKey of [APP.key, QUIET.key]) {
      const c = client(appKey);
      const secret = record(c, 'private-secret');
      await until(() => secret.errors.length > 0, 15_000, `${appKey}: the refusal`);
      assert.match(secret.errors[0].message, /private-secret refused/);
      assert.equal(secret.errors[0].code, appKey === APP.key ? 'unauthorized' : 'forbidden');
      assert.deepEqual(c.stats().subscriptions, []);
    }
  });
});
