// Webhook filters that leave channels out: the PHP SDK's webhook validation throws on
// private-encrypted- events, so a PHP receiver must be able to never get them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hmacHex } from '../protocol/index.js';
import { laneOf, wants } from '../src/webhooks/targets.js';
import { RawClient, startTestServer } from './support/in-process.js';
import { WebhookReceiver } from './support/webhook-receiver.js';

const APP = { id: 'php', key: 'php-key', secret: 'php-secret' };
const ENCRYPTED = 'private-encrypted-chat';

/** A private- channel in the same delivery lane as ENCRYPTED: one lane keeps event order per target. */
function privateChannelInLaneOfEncrypted(): string {
  for (let i = 0; i < 1000; i++) if (laneOf(`private-orders-${i}`) === laneOf(ENCRYPTED)) return `private-orders-${i}`;
  throw new Error('no channel name in that lane');
}

describe('webhook excludeChannelPrefix', () => {
  it('leaves out channels with an excluded prefix (one or several), whatever the other filters say', () => {
    const event = (channel: string) => ({ name: 'channel_occupied' as const, channel });
    const one = { url: 'https://x', channelPrefix: 'private-', excludeChannelPrefix: 'private-encrypted-' };
    assert.equal(wants(one, event('private-orders')), true);
    assert.equal(wants(one, event(ENCRYPTED)), false);
    const several = { url: 'https://x', excludeChannelPrefix: ['private-encrypted-', 'presence-'] };
    assert.deepEqual(['news', 'presence-room', ENCRYPTED].map((c) => wants(several, event(c))), [true, false, false]);
  });

  it('a running server never POSTs excluded channels to that target, and still does to the others', async () => {
    const receiver = await WebhookReceiver.start([APP]);
    const server = await startTestServer({
      apps: [
        {
          ...APP,
          webhooks: [
            { url: receiver.url('/php'), eventTypes: ['channel_occupied'], channelPrefix: 'private-', excludeChannelPrefix: 'private-encrypted-' },
            { url: receiver.url('/all'), eventTypes: ['channel_occupied'] },
          ],
        },
      ],
    });
    try {
      const client = await RawClient.connect(server.port, APP.key);
      const socketId = await client.established();
      const other = privateChannelInLaneOfEncrypted();
      for (const channel of [ENCRYPTED, other]) {
        client.send({ event: 'pusher:subscribe', data: { channel, auth: `${APP.key}:${hmacHex(APP.secret, `${socketId}:${channel}`)}` } });
        await client.next((f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === channel);
      }
      // Same lane, so had the encrypted event been queued for /php it would have arrived first.
      await receiver.until('both channels at /all and one at /php', () => receiver.events('/all').length === 2 && receiver.events('/php').length === 1);
      assert.deepEqual(receiver.events('/php').map((e) => e.channel), [other]);
      assert.deepEqual(new Set(receiver.events('/all').map((e) => e.channel)), new Set([ENCRYPTED, other]));
      client.close();
    } finally {
      await server.shutdown();
      await receiver.close();
    }
  });
});
