// `broadcasty channel <name>`: one channel's state (GET /channels/{name}, docs/PROTOCOL.md §5.5).
import { channelType } from '../../protocol/channels.js';
import { countsText } from './channels.js';
import { EXIT, print, SERVER_HELP, SERVER_OPTIONS, type Command } from './command.js';
import { pusherApi } from './http.js';
import { appTarget } from './target.js';

interface ChannelState {
  occupied: boolean;
  subscription_count?: number;
  user_count?: number;
  cache?: { data: string; ttl: number } | null;
}

export const channel: Command = {
  name: 'channel',
  summary: "one channel: occupied, subscriptions, presence users, a cache channel's cached event",
  usage: 'broadcasty channel <name> [options]',
  details: `Example: broadcasty channel presence-chat

Options:
${SERVER_HELP}`,
  options: SERVER_OPTIONS,
  positionals: [1, 1],
  async run(values, [name]) {
    const { app, baseUrl } = await appTarget(values);
    const type = channelType(name!);
    // Each attribute only where it applies: user_count elsewhere is a 400 (§5.5).
    const info = ['subscription_count', ...(type.kind === 'presence' ? ['user_count'] : []), ...(type.cache ? ['cache'] : [])].join(',');
    const answer = (await pusherApi(baseUrl, app, { method: 'GET', path: `/channels/${encodeURIComponent(name!)}`, query: { info } })) as ChannelState;
    print(values, answer, () => {
      const lines = [`${name}  ${answer.occupied ? 'occupied' : 'not occupied'}, ${countsText(answer)}`];
      if (answer.cache !== undefined) lines.push(answer.cache === null ? 'cache: empty' : `cache: ${answer.cache.data} (${answer.cache.ttl} s left)`);
      return lines.join('\n');
    });
    return EXIT.ok;
  },
};
