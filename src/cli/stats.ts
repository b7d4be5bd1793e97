// `broadcasty stats`: the app's connections, channels and message rates, per node (GET /admin/apps/{id}/stats, docs/PROTOCOL.md §17.1).
import { ADMIN_HELP, ADMIN_OPTIONS, EXIT, print, type Command } from './command.js';
import { adminApi } from './http.js';
import { adminTarget } from './target.js';

type ByTransport = Record<string, number>;

interface AppStats {
  app: string;
  at: number;
  connections: { total: number; byTransport: ByTransport };
  nodes: { node: string; connections: number; byTransport: ByTransport; messagesPublished: number; at: number }[];
  channels: number;
  messages: { published: number; perSecond: number };
  webhookQueueDepth: number;
  pushQueueDepth: number;
}

/** `ws 2, sse 1`: the transports in use. */
const transportsText = (byTransport: ByTransport): string =>
  Object.entries(byTransport)
    .filter(([, count]) => count > 0)
    .map(([transport, count]) => `${transport} ${count}`)
    .join(', ') || 'none';

function statsText(stats: AppStats): string {
  return [
    `app ${stats.app} at ${new Date(stats.at).toISOString()}`,
    `connections      ${stats.connections.total} (${transportsText(stats.connections.byTransport)})`,
    `channels         ${stats.channels} occupied`,
    `messages         ${stats.messages.published} published, ${stats.messages.perSecond.toFixed(1)}/s`,
    `webhook queue    ${stats.webhookQueueDepth}`,
    `push queue       ${stats.pushQueueDepth}`,
    `nodes            ${stats.nodes.length}`,
    ...stats.nodes.map((node) => `  ${node.node}  ${node.connections} connections (${transportsText(node.byTransport)}), ${node.messagesPublished} published`),
  ].join('\n');
}

export const stats: Command = {
  name: 'stats',
  summary: "the app's connections by transport and node, occupied channels, messages/s, queue depths",
  usage: 'broadcasty stats [options]',
  details: `Cluster-wide when the server runs on Redis. Reads the admin API.
Example: broadcasty stats --app 123456

Options:
${ADMIN_HELP}`,
  options: ADMIN_OPTIONS,
  positionals: [0, 0],
  async run(values) {
    const target = await adminTarget(values);
    const answer = (await adminApi(target, 'GET', `/apps/${encodeURIComponent(target.appId)}/stats`)) as AppStats;
    print(values, answer, () => statsText(answer));
    return EXIT.ok;
  },
};
