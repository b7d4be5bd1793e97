// `broadcasty trigger <channel> <event> [json]`: POST /events (docs/PROTOCOL.md §5.3), signed with the app's secret.
import { EXIT, print, SERVER_OPTIONS, SERVER_HELP, UsageError, type Command } from './command.js';
import { pusherApi } from './http.js';
import { appTarget } from './target.js';

/** The data as the SDKs send it: a JSON text; a bare word is most likely a forgotten pair of quotes. */
function dataText(given: string | undefined): string {
  if (given === undefined) return '{}';
  try {
    JSON.parse(given);
  } catch (error) {
    throw new UsageError(`the data must be JSON (${(error as Error).message}); a string is quoted: '"hello"'`);
  }
  return given;
}

export const trigger: Command = {
  name: 'trigger',
  summary: 'publish an event to a channel through the Pusher HTTP API (POST /events)',
  usage: 'broadcasty trigger <channel> <event> [json] [--socket-id ID] [options]',
  details: `The data is a JSON text (default {}), delivered as the SDKs deliver it.
Example: broadcasty trigger orders order.shipped '{"id":42}'

Options:
  --socket-id ID     this socket does not receive the event (toOthers())
${SERVER_HELP}`,
  options: { ...SERVER_OPTIONS, 'socket-id': { type: 'string' } },
  positionals: [2, 3],
  async run(values, [channel, event, data]) {
    const { app, baseUrl } = await appTarget(values);
    const socketId = values['socket-id'] as string | undefined;
    const body = { name: event, channels: [channel], data: dataText(data), ...(socketId === undefined ? {} : { socket_id: socketId }) };
    const answer = await pusherApi(baseUrl, app, { method: 'POST', path: '/events', body });
    print(values, answer, () => `sent ${event} to ${channel}${JSON.stringify(answer) === '{}' ? '' : ` ${JSON.stringify(answer)}`}`);
    return EXIT.ok;
  },
};
