// HTTP API fuzz (docs/PROTOCOL.md §5): signatures, timestamps (`auth_timestamp=1e20`, ±9e12), bodies,
// methods, paths and headers, at volume over keep-alive connections; then raw-TCP probes for what
// an HTTP client library never sends (duplicate Content-Length, HTTP/1.0, broken request lines).
// Client input must get a 4xx with a reason (§5.8): any 5xx or a request left unanswered fails,
// and a request with a broken signature must never be accepted.
import { Agent } from 'node:http';
import { md5Hex } from '../../conformance/lib/http-client.js';
import { call, signedPath } from '../api.js';
import { deepArray, pick, rng, type Rand } from '../fuzz.js';
import type { ChaosTarget, Phase, PhaseContext, PhaseOutcome } from '../runner.js';
import { Tally } from '../tally.js';
import { rawExchange } from '../wire.js';

interface FuzzRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  /** The request is not authentic: any 2xx is an authentication bypass. */
  mustRefuse: boolean;
  what: string;
}

const TIMESTAMPS = ['1e20', '9e12', '-9e12', '9000000000000', '-9000000000000', 'NaN', '', 'abc', '0x10', '1.5', '-0', '99999999999999999999999', 'Infinity', ' 1'];
const ENDPOINTS = ['/events', '/batch_events', '/channels', '/channels/chaos', '/channels/presence-chaos/users', '/users/1/terminate_connections'];
const BODIES = [
  '', 'null', '[]', '123', '"x"', '{', '{"name":', 'garbage', deepArray(50_000), `{"name":"e","channel":"c","data":${deepArray(10_000)}}`,
  '{"name":null,"channel":"c","data":"x"}', '{"name":123,"channels":"c","data":{}}', '{"name":"e","data":"x"}', '{"name":"e","channels":[],"data":"x"}',
  JSON.stringify({ name: 'e', channels: Array.from({ length: 101 }, (_, i) => `c${i}`), data: 'x' }), '{"name":"e","channels":[""],"data":"x"}',
  '{"name":"pusher:x","channel":"c","data":"x"}', JSON.stringify({ name: 'e', channel: 'c', data: 'x'.repeat(20_000) }), '{"name":"e","channel":"c","data":{"a":1}}',
  '{"name":"e","channel":"c","data":"x","socket_id":"bad"}', '{"name":"e","channel":"c","data":"x","info":"user_count,subscription_count,%zz"}',
  '{"name":"e","channel":"#server-to-user-","data":"x"}', `{"name":"${'n'.repeat(300)}","channel":"c","data":"x"}`, '{"batch":null}', '{"batch":[1,2]}',
  JSON.stringify({ batch: Array.from({ length: 11 }, () => ({ name: 'e', channel: 'c', data: 'x' })) }), '{"batch":[{"name":"e"}]}', '{"__proto__":{"name":"e"},"channel":"c"}',
  '{"name":"e","channel":"c","data":"\\ud800"}',
];
/** Past maxRequestBytes (1 MiB by default): sent a few times, not at volume. */
const OVERSIZE_BODY = JSON.stringify({ name: 'e', channel: 'c', data: 'y'.repeat(1_200_000) });
const PATHS = ['/apps/%/events', '/apps/%zz/channels', '/apps/{id}/channels/%C0%80', '/apps/{id}/channels/%', '/apps/{id}/users/%zz/terminate_connections', '/apps//events', `/apps/{id}/channels/${'c'.repeat(9000)}`, '/apps/{id}/../x', '/apps/unknown-app/events', '/apps/{id}/channels/%2F..%2F', '/apps/{id}', '/apps/{id}/'];
const METHODS = ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'GET', 'POST', 'TRACE', 'M-SEARCH'];
const CONTENT_TYPES = ['application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', ''];

function generate(t: ChaosTarget, rand: Rand): FuzzRequest {
  const r = rand();
  const endpoint = pick(rand, ENDPOINTS);
  const method = endpoint === '/events' || endpoint === '/batch_events' || endpoint.endsWith('terminate_connections') ? 'POST' : 'GET';
  const json = { 'Content-Type': 'application/json' };
  if (r < 0.25) {
    const ts = pick(rand, TIMESTAMPS);
    const body = method === 'POST' ? '{"name":"e","channel":"c","data":"x"}' : undefined;
    return { method, url: signedPath(t, method, endpoint, body, { auth_timestamp: ts }), headers: json, body, mustRefuse: true, what: `${method} ${endpoint} auth_timestamp=${ts}` };
  }
  if (r < 0.4) {
    const body = method === 'POST' ? '{"name":"e","channel":"c","data":"x"}' : undefined;
    const broken = pick(rand, ['wrong', 'empty', 'nonhex', 'long', 'key', 'version', 'md5']);
    const over: Record<string, string> = broken === 'key' ? { auth_key: 'nope' } : broken === 'version' ? { auth_version: '2.0' } : broken === 'md5' && body ? { body_md5: md5Hex('other') } : {};
    const sig = { wrong: '0'.repeat(64), empty: '', nonhex: 'zz'.repeat(32), long: 'a'.repeat(5000) }[broken as 'wrong'];
    const url = signedPath(t, method, endpoint, body, over, sig);
    // Only a wrong signature, key or md5 makes the request inauthentic; auth_version 2.0 correctly signed may be accepted.
    return { method, url, headers: json, body, mustRefuse: broken !== 'version' && !(broken === 'md5' && !body), what: `${method} ${endpoint} broken ${broken}` };
  }
  if (r < 0.75) {
    const body = pick(rand, BODIES);
    const path = pick(rand, ['/events', '/batch_events']);
    return { method: 'POST', url: signedPath(t, 'POST', path, body), headers: { 'Content-Type': pick(rand, CONTENT_TYPES) }, body, mustRefuse: false, what: `POST ${path} body ${body.slice(0, 60)}` };
  }
  if (r < 0.85) {
    const m = pick(rand, METHODS);
    const body = m === 'GET' || m === 'HEAD' ? undefined : '{}';
    return { method: m, url: signedPath(t, m, endpoint, body), headers: json, body, mustRefuse: false, what: `${m} ${endpoint}` };
  }
  const path = pick(rand, PATHS).replace('{id}', t.appId);
  return { method: 'GET', url: `${path}?auth_key=${t.key}&auth_timestamp=${Math.floor(Date.now() / 1000)}&auth_version=1.0&auth_signature=${'0'.repeat(64)}`, headers: {}, mustRefuse: true, what: `GET ${path.slice(0, 80)}` };
}

async function sendOne(t: ChaosTarget, agent: Agent, req: FuzzRequest): Promise<number> {
  return (await call(t.host, t.port, req.method, req.url, { agent, headers: req.headers, body: req.body })).status;
}

/** Raw requests; `refuse` marks the ones a correct server must not answer with 2xx. */
function rawProbes(t: ChaosTarget): { name: string; bytes: string; refuse: boolean }[] {
  const body = '{"name":"e","channel":"chaos-raw","data":"x"}';
  const url = signedPath(t, 'POST', '/events', body);
  const post = (headers: string, payload = body) => `POST ${url} HTTP/1.1\r\nHost: ${t.host}\r\nContent-Type: application/json\r\n${headers}\r\n${payload}`;
  return [
    { name: 'duplicate Content-Length with different values', bytes: post(`Content-Length: ${body.length}\r\nContent-Length: ${body.length + 5}\r\n`, `${body}xxxxx`), refuse: true },
    { name: 'Content-Length and Transfer-Encoding: chunked', bytes: post(`Content-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\n`), refuse: true },
    { name: 'Content-Length: -1', bytes: post('Content-Length: -1\r\n'), refuse: true },
    { name: 'Content-Length: 1e3', bytes: post('Content-Length: 1e3\r\n'), refuse: true },
    { name: 'HTTP/1.0 GET /up', bytes: `GET /up HTTP/1.0\r\n\r\n`, refuse: false },
    { name: 'garbage request line', bytes: 'HELLO\r\n\r\n', refuse: true },
    { name: 'header without a colon', bytes: `GET /up HTTP/1.1\r\nHost x\r\n\r\n`, refuse: false },
    { name: 'obsolete line folding', bytes: `GET /up HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n`, refuse: false },
    { name: '100 KB header', bytes: `GET /up HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(100_000)}\r\n\r\n`, refuse: false },
    { name: 'NUL in the path', bytes: `GET /apps/${t.appId}/channels/a\u0000b HTTP/1.1\r\nHost: x\r\n\r\n`, refuse: true },
  ];
}

async function run(ctx: PhaseContext): Promise<PhaseOutcome> {
  const t = ctx.target;
  const tally = new Tally();
  const total = ctx.short ? 5000 : 100_000;
  const deadline = Date.now() + (ctx.short ? 20_000 : 240_000);
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  const rand = rng(0x4770);
  let next = 0;
  const worker = async () => {
    while (next < total && Date.now() < deadline) {
      next++;
      const req = generate(t, rand);
      const status = await sendOne(t, agent, req);
      tally.add('requests');
      if (status === 0) tally.problem('HTTP request not answered within 10 s', req.what);
      else if (status < 0) tally.add('connectionErrors');
      else {
        tally.add(`http${Math.floor(status / 100)}xx`);
        if (status >= 500) tally.problem(`5xx on client input: HTTP ${status}`, req.what);
        else if (req.mustRefuse && status < 300) tally.problem(`accepted an inauthentic request with HTTP ${status}`, req.what);
      }
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  for (let i = 0; i < 3; i++) {
    const status = await sendOne(t, agent, { method: 'POST', url: signedPath(t, 'POST', '/events', OVERSIZE_BODY), headers: { 'Content-Type': 'application/json' }, body: OVERSIZE_BODY, mustRefuse: false, what: '1.2 MB body' });
    tally.add('requests');
    if (status >= 500 || status === 0) tally.problem(`1.2 MB body: ${status === 0 ? 'no answer' : `HTTP ${status}`}, expected 413`);
  }
  agent.destroy();
  const probes = rawProbes(t);
  const answers = await Promise.all(probes.map((probe) => rawExchange(t.host, t.port, probe.bytes, 300, 3000)));
  probes.forEach((probe, i) => {
    const { answer, timedOut } = answers[i];
    tally.add('rawProbes');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1] ?? 0);
    if (timedOut) tally.deviation(`${probe.name}: no answer within 3 s (connection left open)`);
    else if (status >= 500) tally.problem(`5xx on client input: ${probe.name} → HTTP ${status}`);
    else if (probe.refuse && status >= 200 && status < 300) tally.problem(`${probe.name}: accepted with HTTP ${status}, expected 400 or the connection closed (RFC 9112 §6.3)`);
  });
  return tally.outcome(ctx.short ? {} : { requests: total });
}

export const httpApiPhase: Phase = { name: 'http-api-fuzz', run };
