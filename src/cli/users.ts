// `broadcasty users <presence-channel>`: the channel's members (GET /channels/{name}/users, docs/PROTOCOL.md §5.6).
import { EXIT, print, SERVER_HELP, SERVER_OPTIONS, type Command } from './command.js';
import { pusherApi } from './http.js';
import { appTarget } from './target.js';

export const users: Command = {
  name: 'users',
  summary: "a presence channel's user ids",
  usage: 'broadcasty users <presence-channel> [options]',
  details: `Example: broadcasty users presence-chat

Options:
${SERVER_HELP}`,
  options: SERVER_OPTIONS,
  positionals: [1, 1],
  async run(values, [name]) {
    const { app, baseUrl } = await appTarget(values);
    const answer = (await pusherApi(baseUrl, app, { method: 'GET', path: `/channels/${encodeURIComponent(name!)}/users` })) as { users: { id: string }[] };
    print(values, answer, () => (answer.users.length === 0 ? `no users in ${name}` : answer.users.map((user) => user.id).join('\n')));
    return EXIT.ok;
  },
};
