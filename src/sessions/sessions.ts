// This process's HTTP sessions of every kind: the table by id, the per-IP cap, and the one sweep
// (from the server's 1 s ticker) that sends heartbeats, answers held polls at their timeout,
// closes sessions nobody receives from and runs the requests' own deadlines — no timer per
// session or request.
import type { ServerConfig } from '../config/schema.js';
import type { Connection } from '../hub/connection.js';
import type { SocketHandlers, UpgradeInfo } from '../transport/types.js';
import { HttpSession, type SessionTiming, type SessionWire } from './http-session.js';

export type OpenResult = { ok: true; session: HttpSession } | { ok: false; status: 429; message: string };

interface Deadline {
  at: number;
  run: () => void;
}

export class HttpSessions {
  private readonly sessions = new Map<string, HttpSession>();
  private readonly perIp = new Map<string, number>();
  private readonly deadlines = new Set<Deadline>();
  private readonly timing: SessionTiming;
  private readonly maxPerIp: number;

  constructor(
    private readonly handlers: SocketHandlers<Connection>,
    config: Pick<ServerConfig, 'httpHeartbeatSeconds' | 'pollTimeoutSeconds' | 'httpSessionTimeoutSeconds' | 'maxHttpSessionsPerIp'>,
  ) {
    this.timing = {
      heartbeatMs: config.httpHeartbeatSeconds * 1000,
      pollTimeoutMs: config.pollTimeoutSeconds * 1000,
      sessionTimeoutMs: config.httpSessionTimeoutSeconds * 1000,
    };
    this.maxPerIp = config.maxHttpSessionsPerIp;
  }

  get size(): number {
    return this.sessions.size;
  }

  get(id: string): HttpSession | undefined {
    return this.sessions.get(id);
  }

  /**
   * Opens a session under `id` (not in use: check get() first) and its connection through the
   * socket handlers, so the handshake's checks (app, origin, TLS, quotas, capacity, drain) and
   * everything after it are the WebSocket's. Refused with 429 when the client's IP address holds
   * maxHttpSessionsPerIp sessions already.
   */
  open(id: string, remoteAddress: string, info: UpgradeInfo, wire: SessionWire): OpenResult {
    const held = this.perIp.get(remoteAddress) ?? 0;
    if (this.maxPerIp !== 0 && held >= this.maxPerIp) {
      return { ok: false, status: 429, message: `Too many HTTP sessions from ${remoteAddress}: at most ${this.maxPerIp} (maxHttpSessionsPerIp)` };
    }
    this.perIp.set(remoteAddress, held + 1);
    const session = new HttpSession(id, remoteAddress, wire, this.handlers);
    this.sessions.set(id, session);
    session.adopt(this.handlers.open(session, info));
    return { ok: true, session };
  }

  /** Drops a session from the table at once (its stream ended and it cannot be resumed: SSE). */
  remove(session: HttpSession): void {
    if (this.sessions.get(session.id) !== session) return;
    this.sessions.delete(session.id);
    const held = (this.perIp.get(session.remoteAddress) ?? 1) - 1;
    if (held <= 0) this.perIp.delete(session.remoteAddress);
    else this.perIp.set(session.remoteAddress, held);
  }

  /**
   * Runs `run` at the first sweep at or after `at` (Date.now() ms), so within a second of it: a
   * poll's own shorter `timeout`, the bound on opening a session. The returned function cancels it.
   */
  after(at: number, run: () => void): () => void {
    const deadline = { at, run };
    this.deadlines.add(deadline);
    return () => this.deadlines.delete(deadline);
  }

  sweep(now: number): void {
    for (const deadline of this.deadlines) {
      if (deadline.at > now) continue;
      this.deadlines.delete(deadline);
      deadline.run();
    }
    for (const session of this.sessions.values()) {
      // Kinds whose client cannot send (SSE, poll) would otherwise be pinged and closed with 4201.
      if (!session.wire.answersPings && !session.isClosed && session.connection !== undefined) this.handlers.activity(session.connection);
      if (session.tick(now, this.timing)) this.remove(session);
    }
  }
}
