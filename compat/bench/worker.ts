// Load-generator process (forked by pool.ts). Holds connections, runs the per-connection
// actions and answers the orchestrator over IPC. Every loop here ends by count or deadline.
import { BenchConn, Counters, type Subscriber } from './conn.js';
import { runTriggerLoad } from './http-client.js';
import { SseConn, XhrConn } from './http-conns.js';
import type { ActionResult, Command, ConnectCommand, ConnectResult, Envelope, Reply, ReplyEnvelope, Transport } from './ipc.js';
import { Histogram, now, sleep } from './stats.js';

const counters = new Counters();
let conns: Subscriber[] = [];

const clients: Record<Transport, new (index: number, cmd: ConnectCommand, counters: Counters) => Subscriber> = { ws: BenchConn, sse: SseConn, xhr: XhrConn };
/** Whisper and churn send on the socket: WebSocket clients only. */
const sockets = (): BenchConn[] => conns.filter((c): c is BenchConn => c instanceof BenchConn);

async function connectMany(cmd: ConnectCommand): Promise<ConnectResult> {
  const connectHist = new Histogram();
  const subscribeHist = new Histogram();
  const result: ConnectResult = { attempted: cmd.count, established: 0, subscribed: 0, errors: [], connect: connectHist.toData(), subscribe: subscribeHist.toData() };
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < cmd.count) {
      const conn = new clients[cmd.transport](cmd.from + next++, cmd, counters);
      conns.push(conn);
      try {
        connectHist.recordMs(await conn.open());
        result.established++;
        if (cmd.plan) {
          subscribeHist.recordMs(await conn.subscribe());
          conn.joined();
          result.subscribed++;
        }
      } catch (err) {
        if (result.errors.length < 5) result.errors.push((err as Error).message);
        conn.close();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(cmd.concurrency, cmd.count)) }, lane));
  conns = conns.filter((c) => c.isOpen);
  result.connect = connectHist.toData();
  result.subscribe = subscribeHist.toData();
  return result;
}

/**
 * Client events at ratePerConn on every connection, round-robin so each connection's sends
 * are evenly spaced (a server counting per-connection events per second sees a smooth rate).
 */
async function whisper(ratePerConn: number, durationMs: number): Promise<ActionResult> {
  const senders = sockets().filter((c) => c.channel !== null);
  const start = now();
  let sent = 0;
  if (senders.length > 0 && ratePerConn > 0) {
    const total = ratePerConn * senders.length;
    while (now() - start < durationMs) {
      const due = Math.floor(((now() - start) / 1000) * total);
      for (; sent < due; sent++) senders[sent % senders.length].whisper(sent);
      await sleep(2);
    }
  }
  return { sent, failed: 0, errors: [], elapsedMs: now() - start };
}

/** Every churner leaves and re-joins its presence channel back-to-back until the deadline. */
async function churn(durationMs: number): Promise<ActionResult> {
  const churners = sockets().filter((c) => c.role === 'churn');
  const start = now();
  const result: ActionResult = { sent: 0, failed: 0, errors: [], elapsedMs: 0 };
  await Promise.all(
    churners.map(async (conn) => {
      while (now() - start < durationMs && conn.isOpen) {
        try {
          await conn.churn();
          result.sent++;
        } catch (err) {
          result.failed++;
          if (result.errors.length < 5) result.errors.push((err as Error).message);
          return;
        }
      }
    }),
  );
  result.elapsedMs = now() - start;
  return result;
}

async function closeAll(): Promise<ActionResult> {
  const count = conns.length;
  for (const conn of conns) conn.close();
  conns = [];
  counters.channels.clear();
  await sleep(50); // let the terminations flush before the next phase starts
  return { sent: count, failed: 0, errors: [], elapsedMs: 0 };
}

async function handle(cmd: Command): Promise<Reply> {
  switch (cmd.type) {
    case 'connect':
      return connectMany(cmd);
    case 'reset':
      counters.reset();
      return null;
    case 'stats':
      return counters.snapshot(conns.filter((c) => c.isOpen).length);
    case 'trigger-load':
      return runTriggerLoad(cmd.target, cmd.spec);
    case 'whisper':
      return whisper(cmd.ratePerConn, cmd.durationMs);
    case 'churn':
      return churn(cmd.durationMs);
    case 'close':
      return closeAll();
  }
}

process.on('message', (msg: Envelope<Command>) => {
  handle(msg.body).then(
    (body) => process.send?.({ id: msg.id, ok: true, body } satisfies ReplyEnvelope),
    (err: Error) => process.send?.({ id: msg.id, ok: false, error: err.stack ?? err.message } satisfies ReplyEnvelope),
  );
});

// The orchestrator owns our lifetime: when it goes away (crash, Ctrl-C) we go too.
process.on('disconnect', () => process.exit(0));
process.send?.({ id: 0, ok: true, body: null } satisfies ReplyEnvelope);
