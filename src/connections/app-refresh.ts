// Open sockets follow their app's registry entry: an app disabled or removed in a JSON file or
// SQL table closes its sockets (4003 / 4001, as a new connection would be refused), and changed
// settings (limits, client events, timeouts) apply to sockets already open, within one sweep.
import { ErrorCode, ErrorMessage } from '../../protocol/index.js';
import type { App, AppRegistry } from '../apps/registry.js';
import type { Connection } from './connection.js';

// By key, as the sockets connected: the registry has those lookups cached, so this never waits on
// a database, and a rotated key retires the sockets that came with the old one.
export async function refreshApps(connections: Iterable<Connection>, registry: AppRegistry): Promise<void> {
  const byKey = new Map<string, Connection[]>();
  for (const connection of connections) {
    const app = connection.app;
    if (app === undefined || connection.closed) continue;
    let list = byKey.get(app.key);
    if (list === undefined) byKey.set(app.key, (list = []));
    list.push(connection);
  }
  for (const [key, sockets] of byKey) {
    const fresh = await registry.findByKey(key);
    for (const connection of sockets) follow(connection, fresh);
  }
}

function follow(connection: Connection, fresh: App | undefined): void {
  if (connection.closed || connection.app === fresh) return;
  if (fresh === undefined) return connection.fail(ErrorCode.UnknownApp, ErrorMessage.unknownApp(connection.app!.key));
  if (!fresh.enabled) return connection.fail(ErrorCode.AppDisabled, ErrorMessage.appDisabled);
  connection.app = fresh;
}
