// A TCP relay in front of one or more Broadcasty nodes, as a load balancer would be: each new
// client connection goes to the next node in turn (so a reconnect lands on another node), and
// cut() resets every live connection at once, as a network failure does (the client sees 1006,
// the server a vanished peer); stall() silences them instead, as a half-open TCP connection does
// (no reset: each end waits on a peer that says nothing).
import { createServer, Socket, type Server } from 'node:net';

export class Relay {
  private readonly live = new Set<Socket>();
  private readonly pairs = new Set<[down: Socket, up: Socket]>();
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
      const pair: [Socket, Socket] = [down, up];
      this.pairs.add(pair);
      down.on('close', () => this.pairs.delete(pair));
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

  /** The live connections stop carrying bytes both ways but stay open; new ones are relayed as before. */
  stall(): void {
    for (const [down, up] of this.pairs) {
      down.unpipe(up);
      up.unpipe(down);
      down.pause();
      up.pause();
    }
    this.pairs.clear();
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
