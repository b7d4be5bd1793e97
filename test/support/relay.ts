// A TCP relay in front of one or more Broadcasty nodes, as a load balancer would be: each new
// client connection goes to the next node in turn (so a reconnect lands on another node), and
// cut() resets every live connection at once, as a network failure does (the client sees 1006,
// the server a vanished peer).
import { createServer, Socket, type Server } from 'node:net';

export class Relay {
  private readonly live = new Set<Socket>();
  private turn = 0;

  private constructor(
    private readonly server: Server,
    /** Read at each new connection: a test replaces an entry when it replaces a node. */
    readonly upstreamPorts: number[],
  ) {
    server.on('connection', (down) => {
      const up = new Socket().connect(this.upstreamPorts[this.turn++ % this.upstreamPorts.length], '127.0.0.1');
      for (const s of [down, up]) {
        this.live.add(s);
        s.on('error', () => undefined).on('close', () => {
          this.live.delete(s);
          // One side gone: the other goes too, so neither end waits on a half-open pair.
          (s === down ? up : down).destroy();
        });
      }
      down.pipe(up).pipe(down);
    });
  }

  static async start(upstreamPorts: number[]): Promise<Relay> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new Relay(server, upstreamPorts);
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  /** Connections relayed so far. */
  get connections(): number {
    return this.turn;
  }

  cut(): void {
    for (const s of this.live) s.resetAndDestroy();
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
