// protocol/ against the test vectors of docs/PROTOCOL.md §4.1 and §5.2.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  channelNameError,
  channelType,
  encodeError,
  encodeEvent,
  encryptedSharedSecret,
  hmacHex,
  hmacMatches,
  parseClientFrame,
  parseQuery,
  signChannel,
  signRequest,
  signUser,
  stringToSign,
  verifyRequest,
  verifyToken,
  closeReason,
  jsonTooDeep,
  MAX_JSON_DEPTH,
  parseFrameData,
  subscribeData,
} from '../protocol/index.js';

const KEY = '278d425bdf160c739803';
const SECRET = '7ad3773142a6692b25b8';

describe('auth signatures (§4.1 vectors)', () => {
  const vectors: [string, string][] = [
    ['1234.1234:private-foobar', '58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4'],
    ['1234.1234::user::{"id":"12345"}', '4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba'],
    ['1234.1234:presence-foobar:{"user_id":10,"user_info":{"name":"Mr. Channels"}}', '31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80'],
    ['1234.1234:presence-chat:{"user_id":"1","user_info":{"id":1,"name":"Taylor"}}', '8dbecd4ad447e1e0a3b86bc9f2f969e8ebf7f71614c331bb33cdc8aae9a44986'],
    ['1234.1234:private-encrypted-foo', 'e85caab4331194145d44feae15aea9539ea50631afacbc593a9555ceadc42357'],
    [
      '1234.1234::user::{"id":"12345","user_info":{"name":"Ann"},"watchlist":["2","3"]}',
      '1b4e65e68dabdd23734717992b11d3cbe077f40f4ad6ae81bace156865bd5bf5',
    ],
  ];
  for (const [input, expected] of vectors) {
    it(`signs ${input}`, () => assert.equal(hmacHex(SECRET, input), expected));
  }

  it('signs as node:crypto HMAC-SHA256 does for secrets around the 64-byte block and messages past the scratch buffer', () => {
    const secrets = ['', 'k', 'é-sécret', 'x'.repeat(63), 'y'.repeat(64), 'z'.repeat(65), 'ü'.repeat(40)];
    const messages = ['', 'POST\n/apps/1/events\nauth_key=k', '€'.repeat(2000), 'm'.repeat(9000)];
    for (const secret of secrets) {
      for (const message of messages) {
        const expected = createHmac('sha256', secret).update(message, 'utf8').digest('hex');
        assert.equal(hmacHex(secret, message), expected, `secret of ${secret.length} chars, message of ${message.length}`);
        assert.equal(hmacMatches(secret, message, expected), true);
        assert.equal(hmacMatches(secret, message, expected.toUpperCase()), false, 'uppercase hex is not the signature');
        assert.equal(hmacMatches(secret, message, expected.slice(0, 63)), false);
        assert.equal(hmacMatches(secret, message, `${expected.slice(0, 63)}${expected.endsWith('0') ? '1' : '0'}`), false);
      }
    }
  });

  it('builds tokens for private, presence and user strings', () => {
    assert.equal(signChannel(KEY, SECRET, '1234.1234', 'private-foobar'), `${KEY}:${vectors[0][1]}`);
    assert.equal(signChannel(KEY, SECRET, '1234.1234', 'presence-foobar', '{"user_id":10,"user_info":{"name":"Mr. Channels"}}'), `${KEY}:${vectors[2][1]}`);
    assert.equal(signUser(KEY, SECRET, '1234.1234', '{"id":"12345"}'), `${KEY}:${vectors[1][1]}`);
  });

  it('verifies tokens with the hosted error texts', () => {
    assert.deepEqual(verifyToken(`${KEY}:${vectors[0][1]}`, KEY, SECRET, '1234.1234:private-foobar'), { ok: true });
    const wrongKey = verifyToken(`other:${vectors[0][1]}`, KEY, SECRET, '1234.1234:private-foobar');
    assert.equal(wrongKey.ok || wrongKey.message, "Invalid key in subscription auth data: 'other'");
    const wrongSig = verifyToken(`${KEY}:abc`, KEY, SECRET, '1234.1234:private-foobar');
    assert.equal(wrongSig.ok || wrongSig.message, 'Invalid signature: Expected HMAC SHA256 hex digest of 1234.1234:private-foobar, but got abc');
    assert.equal(verifyToken(undefined, KEY, SECRET, 'x').ok, false);
    assert.equal(verifyToken(42, KEY, SECRET, 'x').ok, false);
  });

  it('computes the encrypted-channel shared secret', () => {
    assert.equal(
      encryptedSharedSecret('private-encrypted-foo', 'MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY='),
      'mi6ujdNqJtS1E+MI32Ma63nvdhVlkio2R84zbolRcMg=',
    );
    assert.throws(() => encryptedSharedSecret('x', 'c2hvcnQ='), /32 bytes/);
  });
});

describe('HTTP request signing (§5.2 vectors)', () => {
  const TS = 1353088179;
  const vectors: { method: string; path: string; body?: string; query: Record<string, string>; signature: string }[] = [
    {
      method: 'POST',
      path: '/apps/3/events',
      body: '{"name":"foo","channels":["project-3"],"data":"{\\"some\\":\\"data\\"}"}',
      query: {},
      signature: 'da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c',
    },
    {
      method: 'POST',
      path: '/apps/3/events',
      body: '{"name":"App\\\\Events\\\\OrderShipped","data":"{\\"order\\":1}","channel":"private-orders.1","socket_id":"1234.5678"}',
      query: {},
      signature: '79dbaa45e672991c27611349e50217e97c96552e3d8be78aec453149c3d022c3',
    },
    { method: 'GET', path: '/apps/3/channels', query: { filter_by_prefix: 'presence-', info: 'user_count' }, signature: '16819168891cb5dfd72b5c7a5d3d602605b26c6ba1930033b5e2eeeb65010291' },
    { method: 'GET', path: '/apps/3/channels/presence-chat', query: { info: 'user_count,subscription_count' }, signature: '5a11c434ba766d8edfc11c6eba3e86b163ea1d3153549277f28956b089502f57' },
    { method: 'GET', path: '/apps/3/channels/presence-chat/users', query: {}, signature: 'e6838cb3c2689243651375ed4ae527797ec74e6cea313fc7d9100ab49522008f' },
    { method: 'POST', path: '/apps/3/users/42/terminate_connections', body: '{}', query: {}, signature: '2829710742ff5f799010258297d09016e2366257e3e954039eeda349073a2bcf' },
  ];

  for (const v of vectors) {
    it(`${v.method} ${v.path} signs to the documented signature`, () => {
      const query = parseQuery(signRequest({ method: v.method, path: v.path, key: KEY, secret: SECRET, body: v.body, query: v.query, timestamp: TS }));
      assert.equal(query.get('auth_signature'), v.signature);
    });

    it(`${v.method} ${v.path} verifies at the documented time, PHP- and Node-encoded`, () => {
      const signed = signRequest({ method: v.method, path: v.path, key: KEY, secret: SECRET, body: v.body, query: v.query, timestamp: TS });
      const raw = signed.replace(/%2C/g, ',');
      for (const rawQuery of [signed, raw]) {
        const result = verifyRequest({
          method: v.method,
          path: v.path,
          rawQuery,
          body: Buffer.from(v.body ?? ''),
          secretForKey: (k) => (k === KEY ? SECRET : undefined),
          nowSeconds: TS + 10,
        });
        assert.equal(result.ok, true, JSON.stringify(result));
      }
    });
  }

  const verify = (rawQuery: string, body = '', now = TS) =>
    verifyRequest({ method: 'POST', path: '/apps/3/events', rawQuery, body: Buffer.from(body), secretForKey: (k) => (k === KEY ? SECRET : undefined), nowSeconds: now });
  const good = signRequest({ method: 'POST', path: '/apps/3/events', key: KEY, secret: SECRET, body: '{}', timestamp: TS });

  it('rejects a timestamp 600 s away with the Timestamp expired text', () => {
    const result = verify(good, '{}', TS + 600);
    assert.equal(result.ok, false);
    assert.match(result.ok ? '' : result.message, /^Timestamp expired: Given timestamp \(2012-11-16T17:49:39.000Z\) not within 600s of server time/);
  });

  it('rejects a tampered body, a wrong key, a wrong version and a wrong signature', () => {
    assert.equal(verify(good, '{"x":1}').ok, false);
    assert.equal(verify(good.replace(KEY, 'nope'), '{}').ok, false);
    assert.equal(verify(good.replace('auth_version=1.0', 'auth_version=2.0'), '{}').ok, false);
    assert.equal(verify(good.replace(/auth_signature=[0-9a-f]/, 'auth_signature=z'), '{}').ok, false);
  });

  it('builds the string to sign from lower-cased sorted keys without auth_signature', () => {
    const params = parseQuery('B=2&a=1&auth_signature=x&Info=user_count%2Csubscription_count');
    assert.equal(stringToSign('get', '/p', params), 'GET\n/p\na=1&b=2&info=user_count,subscription_count');
  });
});

describe('channels (§3)', () => {
  it('classifies by anchored prefix, longest first', () => {
    assert.deepEqual(channelType('private-encrypted-cache-x'), { kind: 'encrypted', cache: true });
    assert.deepEqual(channelType('private-encrypted-x'), { kind: 'encrypted', cache: false });
    assert.deepEqual(channelType('private-cache-x'), { kind: 'private', cache: true });
    assert.deepEqual(channelType('presence-cache-x'), { kind: 'presence', cache: true });
    assert.deepEqual(channelType('cache-x'), { kind: 'public', cache: true });
    assert.deepEqual(channelType('foo-private-x'), { kind: 'public', cache: false });
    assert.equal(channelType('#server-to-user-1').kind, 'server-to-user');
    assert.equal(channelType('#other').kind, 'reserved');
  });

  it('validates names', () => {
    assert.equal(channelNameError('private-App.Models.User.1', 164), null);
    assert.equal(channelNameError('a-zA-Z0-9_=@,.;', 164), null);
    assert.notEqual(channelNameError('', 164), null);
    assert.notEqual(channelNameError('has space', 164), null);
    assert.notEqual(channelNameError('x'.repeat(165), 164), null);
    assert.notEqual(channelNameError(null, 164), null);
  });
});

describe('frames (§0)', () => {
  it('double-encodes data and keeps pusher:error data an object', () => {
    assert.equal(encodeEvent('my-event', '{"message":"hello"}', 'my-channel'), '{"event":"my-event","data":"{\\"message\\":\\"hello\\"}","channel":"my-channel"}');
    assert.equal(encodeEvent('client-typing', '{"x":1}', 'presence-room', '2'), '{"event":"client-typing","data":"{\\"x\\":1}","channel":"presence-room","user_id":"2"}');
    assert.equal(encodeError(4001, 'nope'), '{"event":"pusher:error","data":{"code":4001,"message":"nope"}}');
  });

  it('parses client frames leniently and rejects garbage without throwing', () => {
    assert.deepEqual(parseClientFrame('{"event":"pusher:ping","data":{}}'), { ok: true, frame: { event: 'pusher:ping', channel: undefined, data: {} } });
    for (const bad of ['', 'x', '[]', 'null', '1', '{"data":{}}', '{"event":5}', '{"event":""}']) assert.equal(parseClientFrame(bad).ok, false, bad);
  });

  it('bounds JSON nesting on the text, not counting brackets inside strings', () => {
    const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
    assert.equal(jsonTooDeep(nested(MAX_JSON_DEPTH)), false);
    assert.equal(jsonTooDeep(nested(MAX_JSON_DEPTH + 1)), true);
    assert.equal(jsonTooDeep(JSON.stringify({ data: '['.repeat(1000) })), false);
    assert.equal(jsonTooDeep(JSON.stringify({ data: '\\"' + '{'.repeat(1000) })), false);
    assert.match((parseClientFrame(`{"event":"x","data":${nested(1000)}}`) as { message: string }).message, /deeper than 64/);
  });

  it('treats null optional fields as absent and names the wrong field', () => {
    assert.deepEqual(parseFrameData(subscribeData, { channel: 'c', auth: null, channel_data: null }, 'subscribe'), {
      ok: true,
      value: { channel: 'c', auth: undefined, channel_data: undefined },
    });
    assert.deepEqual(parseFrameData(subscribeData, '{"channel":"c","channel_data":5}', 'subscribe'), {
      ok: false,
      message: 'Invalid subscribe message: data.channel_data must be a string, got number',
    });
  });

  it('caps close reasons at 123 bytes', () => {
    assert.ok(Buffer.byteLength(closeReason('é'.repeat(100))) <= 123);
    assert.equal(closeReason('short'), 'short');
  });
});
