// A Pusher-protocol server whose every frame the test writes by hand, for client-side tests that
// need frames Broadcasty never sends on its own (replayed duplicates, an `ahead` failure at a
// chosen moment): it completes the handshake, records what clients send, and sends what the test
// says, byte for byte.
import { WebSocketServer, type WebSocket } from 'ws';
import { FrameLog, type Frame } from './frame-log.js';

export class ScriptedPeer {
  /** Frames clients sent, over all their connections, in arrival order. */
  private readonly received = new FrameLog();
  private current: WebSocket | undefined;
  private connections = 0;
  private connectionWaiters: (() => void)[] = [];

  private constructor(private readonly server: WebSocketServer) {
    server.on('connection', (ws) => {
      this.current = ws;
      this.connections++;
      ws.on('message', (raw) => this.received.received(raw.toString()));
      ws.send(JSON.stringify({ event: 'pusher:connection_established', data: JSON.stringify({ socket_id: `1.${this.connections}`, activity_timeout: 120 }) }));
      for (const resolve of this.connectionWaiters.splice(0)) resolve();
    });
  }

  static async start(): Promise<ScriptedPeer> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => server.once('listening', resolve));
    return new ScriptedPeer(server);
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  /** Connections accepted so far. */
  get connectionCount(): number {
    return this.connections;
  }

  /** Sends a frame (an object is JSON-encoded) on the latest connection. */
  send(frame: object | string): void {
    this.current!.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The next frame the client sent that matches, taken from the log. */
  next(predicate: (f: Frame) => boolean, timeoutMs = 3000): Promise<Frame> {
    return this.received.next(predicate, timeoutMs);
  }

  nextSubscribe(channel: string): Promise<Frame> {
    return this.next((f) => f.event === 'pusher:subscribe' && (f.data as { channel?: string }).channel === channel);
  }

  /** Closes the latest connection with a Pusher close code (4200: reconnect at once). */
  async closeCurrent(code: number): Promise<void> {
    const reconnected = new Promise<void>((resolve) => this.connectionWaiters.push(resolve));
    this.current!.close(code, 'scripted close');
    await reconnected;
  }

  async stop(): Promise<void> {
    for (const ws of this.server.clients) ws.terminate();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
