// Debug mode as an operator uses it: `broadcasty start --debug`, then a browser's worth of
// actions, each of which must show up as one log line; secrets and payloads never do.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import PusherServer from 'pusher';
import { hmacHex, userStringToSign } from '../protocol/index.js';
import { prettyLine } from '../src/logger.js';
import { freePort, runCli, untilListening, type CliProcess } from './support/cli-process.js';
import { RawClient } from './support/in-process.js';
import { WebhookReceiver } from './support/webhook-receiver.js';

const APP = { id: 'dbg', key: 'dbg-key', secret: 'dbg-secret-never-logged' };

interface Line {
  msg: string;
  [field: string]: unknown;
}

describe('debug mode', () => {
  let cli: CliProcess;
  let port: number;
  let receiver: WebhookReceiver;

  before(async () => {
    receiver = await WebhookReceiver.start([APP]);
    port = await freePort();
    cli = runCli(['start', '--debug', '--host', '127.0.0.1', '--port', String(port)], {
      BROADCASTY_APPS: JSON.stringify([{ ...APP, webhooks: [{ url: receiver.url('/hook'), eventTypes: ['channel_occupied'] }] }]),
    });
    await untilListening(cli);
  });

  after(async () => {
    cli.child.kill('SIGTERM');
    await cli.exited;
    await receiver.close();
  });

  const lines = (): Line[] =>
    cli
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Line);

  async function untilLogged(msg: string, match: (l: Line) => boolean = () => true): Promise<Line> {
    for (let i = 0; i < 200; i++) {
      const line = lines().find((l) => l.msg === msg && match(l));
      if (line !== undefined) return line;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`no "${msg}" line in:\n${cli.stdout()}`);
  }

  it('logs connect, subscribe (and refusals with the reason), signin, client events, API publishes, webhooks and close', async () => {
    const client = await RawClient.connect(port, APP.key);
    const socketId = await client.established();
    await untilLogged('connected', (l) => l.socketId === socketId && l.appId === APP.id);

    client.send({ event: 'pusher:subscribe', data: { channel: 'news' } });
    await untilLogged('subscribed', (l) => l.channel === 'news' && l.socketId === socketId);
    await untilLogged('webhook sent', (l) => l.appId === APP.id && (l.events as string[]).includes('channel_occupied@news'));

    client.send({ event: 'pusher:subscribe', data: { channel: 'private-orders', auth: `${APP.key}:${'0'.repeat(64)}` } });
    const refused = await untilLogged('subscription refused', (l) => l.channel === 'private-orders');
    assert.match(String(refused.reason), /signature/i);

    client.send({ event: 'pusher:subscribe', data: { channel: 'private-orders', auth: `${APP.key}:${hmacHex(APP.secret, `${socketId}:private-orders`)}` } });
    await untilLogged('subscribed', (l) => l.channel === 'private-orders');

    const channelData = JSON.stringify({ user_id: 'u1', user_info: { name: 'Ann' } });
    const presenceAuth = `${APP.key}:${hmacHex(APP.secret, `${socketId}:presence-room:${channelData}`)}`;
    client.send({ event: 'pusher:subscribe', data: { channel: 'presence-room', auth: presenceAuth, channel_data: channelData } });
    await untilLogged('subscribed', (l) => l.channel === 'presence-room' && l.userId === 'u1');
    await untilLogged('presence member added', (l) => l.channel === 'presence-room' && l.userId === 'u1');

    const userData = JSON.stringify({ id: 'u1' });
    const signinAuth = `${APP.key}:${hmacHex(APP.secret, userStringToSign(socketId, userData))}`;
    client.send({ event: 'pusher:signin', data: { auth: signinAuth, user_data: userData } });
    await untilLogged('signed in', (l) => l.userId === 'u1');

    client.send({ event: 'client-typing', channel: 'private-orders', data: { secret_payload: 'hidden' } });
    const relayed = await untilLogged('client event relayed', (l) => l.event === 'client-typing');
    assert.equal(relayed.bytes, JSON.stringify({ secret_payload: 'hidden' }).length);

    const sdk = new PusherServer({ appId: APP.id, key: APP.key, secret: APP.secret, host: '127.0.0.1', port: String(port), useTLS: false });
    await sdk.trigger('news', 'headline', { payload_body: 'not logged' });
    const publish = await untilLogged('API publish', (l) => l.event === 'headline');
    assert.deepEqual(publish.channels, ['news']);
    await sdk.triggerBatch([{ channel: 'news', name: 'a', data: '1' }, { channel: 'private-orders', name: 'b', data: '2' }]);
    await untilLogged('API batch publish', (l) => JSON.stringify(l.events) === JSON.stringify(['a@news', 'b@private-orders']));

    const stranger = await RawClient.connect(port, 'no-such-key');
    await untilLogged('connection refused', (l) => l.appKey === 'no-such-key' && l.code === 4001);
    await stranger.closed;

    client.close();
    await untilLogged('closed', (l) => l.socketId === socketId && l.code === 1005);
    await untilLogged('presence member removed', (l) => l.userId === 'u1');

    const out = cli.stdout();
    for (const secret of [APP.secret, signinAuth.split(':')[1], presenceAuth.split(':')[1], 'hidden', 'not logged']) {
      assert.ok(!out.includes(secret), `the log shows ${secret}`);
    }
  });
});

describe('log format', () => {
  it('a terminal gets one readable line per record: time, level, message, fields', () => {
    const json = JSON.stringify({ level: 20, time: Date.UTC(2026, 0, 1, 12, 0, 1, 234), msg: 'subscribed', appId: '42', channel: 'news', userId: undefined, events: ['a@b'] });
    assert.equal(prettyLine(json, false), '12:00:01.234 DEBUG subscribed appId=42 channel=news events=["a@b"]\n');
    assert.equal(prettyLine(json, true), '\x1b[90m12:00:01.234\x1b[0m \x1b[36mDEBUG\x1b[0m subscribed \x1b[90mappId=42 channel=news events=["a@b"]\x1b[0m\n');
  });
});
