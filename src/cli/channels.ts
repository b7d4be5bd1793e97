// `broadcasty channels [--prefix p]`: the occupied channels (GET /channels, docs/PROTOCOL.md §5.5), cluster-wide.
import { EXIT, print, SERVER_HELP, SERVER_OPTIONS, type Command } from './command.js';
import { pusherApi } from './http.js';
import { appTarget } from './target.js';

interface ChannelCounts {
  subscription_count?: number;
  user_count?: number;
}

/** `name  3 subscriptions, 2 users`: the counts the server gave. */
export function countsText(counts: ChannelCounts): string {
  const parts = [];
  if (counts.subscription_count !== undefined) parts.push(`${counts.subscription_count} subscription${counts.subscription_count === 1 ? '' : 's'}`);
  if (counts.user_count !== undefined) parts.push(`${counts.user_count} user${counts.user_count === 1 ? '' : 's'}`);
  return parts.join(', ');
}

export const channels: Command = {
  name: 'channels',
  summary: 'list the occupied channels with their subscription (and presence user) counts',
  usage: 'broadcasty channels [--prefix P] [options]',
  details: `Example: broadcasty channels --prefix presence-

Options:
  --prefix P         only channels whose name starts with P (user counts when P starts with presence-)
${SERVER_HELP}`,
  options: { ...SERVER_OPTIONS, prefix: { type: 'string' } },
  positionals: [0, 0],
  async run(values) {
    const { app, baseUrl } = await appTarget(values);
    const prefix = values.prefix as string | undefined;
    // user_count is only allowed with a presence- filter (§5.5).
    const info = prefix?.startsWith('presence-') ? 'subscription_count,user_count' : 'subscription_count';
    const query = { info, ...(prefix === undefined ? {} : { filter_by_prefix: prefix }) };
    const answer = (await pusherApi(baseUrl, app, { method: 'GET', path: '/channels', query })) as { channels: Record<string, ChannelCounts> };
    print(values, answer, () => {
      const names = Object.keys(answer.channels).sort();
      if (names.length === 0) return prefix === undefined ? 'no occupied channels' : `no occupied channels starting with ${prefix}`;
      const width = Math.max(...names.map((name) => name.length));
      return names.map((name) => `${name.padEnd(width)}  ${countsText(answer.channels[name]!)}`).join('\n');
    });
    return EXIT.ok;
  },
};
