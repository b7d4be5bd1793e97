// WebSocket frame fuzz (issue 10 part D): wrong JSON shapes at volume over a few connections,
// then single probes for what must close the connection: invalid UTF-8 (1007, RFC 6455 §8.1)
// and framing that breaks RFC 6455 §5 (unmasked, reserved opcodes, fragmented or oversize
// control frames, impossible lengths). Hostile text must get in-band errors (docs/PROTOCOL.md §2.4),
// never an "internal error", a server-side stack trace or a dropped socket.
import { signChannel } from '../../conformance/lib/sign.js';
import { deepArray, textPayloads } from '../fuzz.js';
import type { Phase, PhaseContext, PhaseOutcome } from '../runner.js';
import { Tally } from '../tally.js';
import { encodeFrame, establish, isEvent, textFrame, type ServerFrame } from '../wire.js';

const BATCH = 500;
const POOL = 4000;
const PING = textFrame('{"event":"pusher:ping","data":{}}');
const isPong = isEvent('pusher:pong');
const INTERNAL_ERROR = /"event":"pusher:error".*"message":"[^"]*\binternal error/i;
/** Codes pusher-js handles as the server meant (docs/PROTOCOL.md §1.4); 1006 and 1011 mean the server failed. */
const ACCEPTABLE_CLOSE = (code: number) => code === 1000 || code === 1008 || code === 1009 || (code >= 4000 && code < 4300);

function wsOptions(ctx: PhaseContext, onFrame?: (f: ServerFrame) => void) {
  const t = ctx.target;
  return { host: t.host, port: t.port, path: `/app/${t.key}?protocol=7&client=js&version=8.4.0`, onFrame };
}

/** One connection sending pool frames in batches, each batch followed by a ping that must be answered. */
async function fuzzLane(ctx: PhaseContext, pool: Buffer[], offset: number, until: () => boolean, tally: Tally): Promise<void> {
  let index = offset;
  while (!until()) {
    const conn = await establish(wsOptions(ctx, (f) => INTERNAL_ERROR.test(f.text) && tally.problem('in-band "internal error" answer to a fuzzed frame', f.text)));
    if (conn === undefined) {
      tally.problem('connection not established within 5 s during frame fuzz');
      return;
    }
    const { ws } = conn;
    for (let batch = 0; batch < 20 && !until() && ws.isOpen; batch++) {
      const frames = Array.from({ length: BATCH }, () => pool[index++ % pool.length]);
      ws.write(Buffer.concat([...frames, PING]));
      tally.add('frames', BATCH);
      const pong = await ws.next(isPong, 15_000);
      if (pong === undefined && ws.isOpen) tally.problem('no pusher:pong within 15 s after a batch of fuzzed frames (socket open but unresponsive)');
    }
    if (!ws.isOpen) {
      const code = await ws.closed;
      tally.add(`close${code}`);
      if (!ACCEPTABLE_CLOSE(code)) tally.problem(`wrong close code: a connection sending fuzzed (valid UTF-8) text frames was closed with ${code}`);
    }
    ws.destroy();
  }
}

/** A private channel client event whose data nests 50,000 levels: a recursive walker's stack ends there. */
async function deepClientEvent(ctx: PhaseContext, tally: Tally): Promise<void> {
  const errors: string[] = [];
  const conn = await establish(wsOptions(ctx, (f) => f.text.includes('pusher:error') && errors.push(f.text)));
  if (conn === undefined) return tally.problem('connection not established for the deep-JSON probe');
  const { ws, socketId } = conn;
  const channel = `private-chaos-deep-${Date.now()}`;
  ws.write(textFrame(JSON.stringify({ event: 'pusher:subscribe', data: { channel, auth: signChannel(ctx.target.secret, ctx.target.key, socketId, channel) } })));
  await ws.next(isEvent('pusher_internal:subscription_succeeded'), 3000);
  ws.write(textFrame(`{"event":"client-deep","channel":"${channel}","data":${deepArray(50_000)}}`));
  ws.write(PING);
  const pong = await ws.next(isPong, 5000);
  tally.add('deepProbes');
  if (pong === undefined) tally.problem(`50,000-deep client event: no pong afterwards (socket ${ws.isOpen ? 'unresponsive' : `closed ${await ws.closed}`})`);
  for (const text of errors) if (INTERNAL_ERROR.test(text)) tally.problem('50,000-deep client event answered with an internal error (server-side exception)', text);
  ws.destroy();
}

const INVALID_UTF8: Buffer[] = [
  Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
  Buffer.from([0x7b, 0x22, 0xc0, 0x80, 0x22, 0x7d]), // overlong NUL
  Buffer.from([0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]), // UTF-16 surrogate
  Buffer.from([0x7b, 0x22, 0xe2, 0x82]), // truncated sequence
];

interface FramingProbe {
  name: string;
  bytes: () => Buffer;
}

const FRAMING: FramingProbe[] = [
  { name: 'unmasked text frame', bytes: () => textFrame('{"event":"pusher:ping","data":{}}', { mask: false }) },
  { name: 'reserved opcode 0x3', bytes: () => encodeFrame(0x3, 'x') },
  { name: 'reserved opcode 0xB', bytes: () => encodeFrame(0xb, 'x') },
  { name: 'fragmented ping', bytes: () => encodeFrame(0x9, 'x', { fin: false }) },
  { name: 'ping over 125 bytes', bytes: () => encodeFrame(0x9, 'x'.repeat(200)) },
  { name: 'length 2^62', bytes: () => Buffer.concat([encodeFrame(0x1, Buffer.alloc(0), { announcedLength: 2n ** 62n }), Buffer.alloc(64)]) },
  { name: '16 MB announced, 2 MB sent', bytes: () => encodeFrame(0x1, Buffer.alloc(2 * 1024 * 1024, 0x20), { announcedLength: 16 * 1024 * 1024 }).subarray(0, 2 * 1024 * 1024) },
  { name: 'continuation without start', bytes: () => encodeFrame(0x0, 'x') },
  { name: 'RSV1 without extension', bytes: () => textFrame('{"event":"pusher:ping","data":{}}', { rsv: 4 }) },
  { name: 'new text frame inside a fragmented message', bytes: () => Buffer.concat([textFrame('{"event":', { fin: false }), textFrame('"x"}')]) },
  { name: 'close with code 999', bytes: () => encodeFrame(0x8, Buffer.from([0x03, 0xe7])) },
  { name: 'close with a 1-byte payload', bytes: () => encodeFrame(0x8, Buffer.from([0x03])) },
  { name: 'close with invalid UTF-8 reason', bytes: () => encodeFrame(0x8, Buffer.from([0x03, 0xe8, 0xff, 0xfe])) },
];

async function probeClose(ctx: PhaseContext, bytes: Buffer): Promise<number | undefined | 'refused'> {
  const conn = await establish(wsOptions(ctx));
  if (conn === undefined) return 'refused';
  conn.ws.write(bytes);
  const code = await conn.ws.closedWithin(3000);
  conn.ws.destroy();
  return code;
}

/** A legal fragmented message (text FIN=0 + continuation) must work: the probes above must not break real clients. */
async function fragmentedPing(ctx: PhaseContext, tally: Tally): Promise<void> {
  const conn = await establish(wsOptions(ctx));
  if (conn === undefined) return tally.problem('connection not established for the fragmentation probe');
  conn.ws.write(Buffer.concat([textFrame('{"event":"pusher:ping",', { fin: false }), encodeFrame(0x0, '"data":{}}')]));
  if ((await conn.ws.next(isPong, 3000)) === undefined) tally.problem('a legal fragmented pusher:ping got no pusher:pong');
  conn.ws.destroy();
}

/** Fuzzed frames over `lanes` connections until `count` were sent or `ms` passed. */
async function fuzz(ctx: PhaseContext, tally: Tally, count: number, ms: number, lanes: number): Promise<void> {
  const deadline = Date.now() + ms;
  const pool = textPayloads(0xc4a05, POOL).map((text) => textFrame(text));
  const done = () => tally.count('frames') >= count || Date.now() > deadline;
  await Promise.all(Array.from({ length: lanes }, (_, i) => fuzzLane(ctx, pool, i * 997, done, tally)));
}

/**
 * Run before the first phase, unjudged: a fresh server's heap grows once to its working size on
 * the first hostile traffic, and measuring every phase's memory from there keeps that one-time
 * growth from reading as a leak.
 */
export async function warmUp(ctx: PhaseContext): Promise<void> {
  await fuzz(ctx, new Tally(), 20_000, 10_000, 4);
}

async function run(ctx: PhaseContext): Promise<PhaseOutcome> {
  const tally = new Tally();
  const target = ctx.short ? 30_000 : 1_000_000;
  await fuzz(ctx, tally, target, ctx.short ? 15_000 : 360_000, ctx.short ? 4 : 8);
  await deepClientEvent(ctx, tally);
  await fragmentedPing(ctx, tally);
  const rounds = ctx.short ? 1 : 25;
  for (let round = 0; round < rounds; round++) {
    for (const code of await Promise.all(INVALID_UTF8.map((bytes) => probeClose(ctx, textFrame(bytes))))) {
      tally.add('utf8Probes');
      tally.add('frames');
      if (code !== 1007) tally.deviation(`wrong close code: invalid UTF-8 text frame → ${code === undefined ? 'kept open' : code}, expected 1007 (RFC 6455 §8.1)`);
    }
    const codes = await Promise.all(FRAMING.map((probe) => probeClose(ctx, probe.bytes())));
    FRAMING.forEach((probe, i) => {
      const code = codes[i];
      tally.add('framingProbes');
      tally.add('frames');
      if (code === undefined) tally.deviation(`${probe.name}: connection kept open, expected it closed (RFC 6455 §5)`);
      else if (code === 'refused') tally.problem(`${probe.name}: connection not established`);
      else if (code === 1011) tally.problem(`${probe.name}: closed with 1011 (server error)`);
    });
  }
  return tally.outcome(ctx.short ? {} : { frames: target });
}

export const framesPhase: Phase = { name: 'ws-frame-fuzz', run };
