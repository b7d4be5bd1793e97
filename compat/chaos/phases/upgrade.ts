// Upgrade path and header fuzz: malformed percent-escapes in the app key (`/app/%`, `%zz`,
// `%C0%80`), odd keys, queries and headers. Every request must get an answer: an HTTP 4xx, or a
// 101 followed by connection_established or `pusher:error` and a Close with the same 4xxx code
// (docs/PROTOCOL.md §1.4) — never a 5xx, a hang, or a socket dropped without a Close frame.
import type { Phase, PhaseContext, PhaseOutcome } from '../runner.js';
import { Tally } from '../tally.js';
import { ABNORMAL_CLOSURE, RawWs, socketIdOf } from '../wire.js';

const KEYS = ['%', '%zz', '%C0%80', '%ED%A0%80', 'a%', '%2', '%00', '%2F..%2F', '', 'x'.repeat(5000), '💥', '%F0%9F%92%A5', '..', 'KEY?', '%25', '+', ';', '{key}'];
const QUERIES = ['', '?protocol=7', '?protocol=%zz', '?protocol=999', '?protocol=', '?protocol=7&protocol=1', `?${'a=b&'.repeat(2000)}`, '?%', '?client=%C0%80&version=%', '?protocol=7.0', '?protocol=-1'];
const HEADERS = [
  '',
  'Origin: \r\n',
  `Origin: http://${'a'.repeat(8000)}.example\r\n`,
  'Origin: http://💥.example\r\n',
  'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=99; garbage\r\n',
  'Sec-WebSocket-Protocol: ,,,;\r\n',
  'Sec-WebSocket-Key: short\r\n',
  'Sec-WebSocket-Version: 8\r\n',
  'Sec-WebSocket-Version: abc\r\n',
  'X-Forwarded-For: \u0000\r\n',
  `X-Big: ${'b'.repeat(16_000)}\r\n`,
  'Cookie: a=%zz; b=%C0%80\r\n',
  'Host: \r\n',
];

type Verdict = { code: number; established: boolean };

async function attempt(ctx: PhaseContext, path: string, headers: string): Promise<Verdict> {
  const t = ctx.target;
  const ws = RawWs.open({ host: t.host, port: t.port, path, headers });
  const hello = await ws.next((f) => socketIdOf(f) !== undefined, 3000);
  const code = hello === undefined ? await ws.closedWithin(100) : undefined;
  ws.destroy();
  return { code: code ?? 0, established: hello !== undefined };
}

async function run(ctx: PhaseContext): Promise<PhaseOutcome> {
  const tally = new Tally();
  const requests: [string, string][] = [];
  for (const key of KEYS) for (const query of QUERIES.slice(0, ctx.short ? 3 : QUERIES.length)) requests.push([`/app/${key}${query}`, '']);
  for (const header of HEADERS) requests.push([`/app/${ctx.target.key}?protocol=7`, header], [`/app/%zz?protocol=7`, header]);
  requests.push(['/apps/x/events', ''], ['/app', ''], ['/app/', ''], ['//app//key', ''], ['/app/%/x', '']);
  const concurrency = 16;
  for (let i = 0; i < requests.length; i += concurrency) {
    const verdicts = await Promise.all(requests.slice(i, i + concurrency).map(([path, headers]) => attempt(ctx, path, headers)));
    verdicts.forEach((v, j) => {
      const [path, headers] = requests[i + j];
      const what = `${path.slice(0, 60)}${headers ? ` + ${headers.slice(0, 40).trim()}` : ''}`;
      tally.add('upgrades');
      if (v.established) return tally.add('established');
      if (v.code < 0) {
        tally.add(`http${-v.code}`);
        if (-v.code >= 500) tally.problem(`5xx on client input: upgrade answered HTTP ${-v.code}`, what);
      } else if (v.code === 0) {
        // A control character in a header or the path makes the request malformed (RFC 9110 §5.5):
        // dropping it unanswered is a departure, not a hang on a request the server should serve.
        if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(`${path}${headers ?? ''}`)) tally.deviation('no answer within 3 s to a malformed upgrade request', what);
        else tally.problem('no answer within 3 s to an upgrade request', what);
      }
      else if (v.code === ABNORMAL_CLOSURE) tally.problem('wrong close code: refused upgrade dropped without a Close frame (1006)', what);
      else {
        tally.add(`close${v.code}`);
        if (v.code < 4000 || v.code >= 4100) tally.problem(`wrong close code: refused upgrade closed with ${v.code}, expected a 40xx code (docs/PROTOCOL.md §1.4)`, what);
      }
    });
  }
  return tally.outcome();
}

export const upgradePhase: Phase = { name: 'upgrade-fuzz', run };
