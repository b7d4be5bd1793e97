// Open sockets follow their app's registry entry: an app disabled or removed in a JSON file or
// SQL table closes its sockets (4003 / 4001, as a new connection would be refused), and changed
// settings (limits, client events, timeouts) apply to sockets already open, within one sweep.
import { ErrorCode, ErrorMessage } from '../../protocol/index.js';
import type { App, AppRegistry } from '../apps/registry.js';
import type { Logger } from '../logger.js';
import type { Connection } from '../hub/connection.js';

export class AppFollower {
  private running = false;

  constructor(
    private readonly registry: AppRegistry,
    private readonly log: Logger,
  ) {}

  /** Called by the server's 1 s sweep; a lookup still running skips the tick. */
  tick(connections: Map<string, Connection>): void {
    if (this.running) return;
    this.running = true;
    this.refresh(connections)
      .catch((err: unknown) => this.log.warn({ err }, 'app registry lookup failed; open sockets keep their app settings'))
      .finally(() => (this.running = false));
  }

  // By key, as the sockets connected: the registry has those lookups cached, so this never waits
  // on a database, and a rotated key retires the sockets that came with the old one. One lookup
  // per app, then one pass comparing references: nothing is allocated per socket.
  private async refresh(connections: Map<string, Connection>): Promise<void> {
    const keys = new Set<string>();
    for (const connection of connections.values()) if (connection.app !== undefined) keys.add(connection.app.key);
    const fresh = new Map<string, App | undefined>();
    for (const key of keys) fresh.set(key, await this.registry.findByKey(key));
    for (const connection of connections.values()) {
      const app = connection.app;
      if (app !== undefined && fresh.has(app.key)) follow(connection, app, fresh.get(app.key));
    }
  }
}

function follow(connection: Connection, app: App, fresh: App | undefined): void {
  if (connection.closed || app === fresh) return;
  if (fresh === undefined) return connection.fail(ErrorCode.UnknownApp, ErrorMessage.unknownApp(app.key));
  if (!fresh.enabled) return connection.fail(ErrorCode.AppDisabled, ErrorMessage.appDisabled);
  connection.app = fresh;
}
