// `broadcasty terminate <user-id>`: closes every socket signed in as the user (docs/PROTOCOL.md §5.7).
import { EXIT, print, SERVER_HELP, SERVER_OPTIONS, type Command } from './command.js';
import { pusherApi } from './http.js';
import { appTarget } from './target.js';

export const terminate: Command = {
  name: 'terminate',
  summary: "disconnect a signed-in user's sockets on every node (4009, pusher-js does not reconnect)",
  usage: 'broadcasty terminate <user-id> [options]',
  details: `Example: broadcasty terminate 42

Options:
${SERVER_HELP}`,
  options: SERVER_OPTIONS,
  positionals: [1, 1],
  async run(values, [userId]) {
    const { app, baseUrl } = await appTarget(values);
    const answer = await pusherApi(baseUrl, app, { method: 'POST', path: `/users/${encodeURIComponent(userId!)}/terminate_connections`, body: {} });
    print(values, answer, () => `terminated the connections of user ${userId}`);
    return EXIT.ok;
  },
};
