// `broadcasty keygen`: new app credentials and an admin token as .env lines; `--vapid`: a Web
// Push key pair (docs/PROTOCOL.md §16.1).
import { randomBytes, randomInt } from 'node:crypto';
import { generateVapidKeys } from '../push/providers/webpush.js';
import { EXIT, type Command } from './command.js';

const ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyz0123456789';

const randomText = (length: number): string => Array.from({ length }, () => ALPHANUMERIC[randomInt(ALPHANUMERIC.length)]).join('');

/** Shaped like Pusher's: a numeric id, a 20-character key; the secret and the token are longer than Pusher's. */
function appCredentials(): Record<string, string> {
  return {
    BROADCASTY_APP_ID: String(randomInt(100_000, 10_000_000)),
    BROADCASTY_APP_KEY: randomText(20),
    BROADCASTY_APP_SECRET: randomText(32),
    BROADCASTY_ADMIN_TOKEN: randomBytes(32).toString('base64url'),
  };
}

function vapidLines(): Record<string, string> {
  const { publicKey, privateKey } = generateVapidKeys();
  return { BROADCASTY_PUSH_VAPID_PUBLIC_KEY: publicKey, BROADCASTY_PUSH_VAPID_PRIVATE_KEY: privateKey };
}

export const keygen: Command = {
  name: 'keygen',
  summary: 'print new app credentials and an admin token (or, with --vapid, a Web Push key pair) as .env lines',
  usage: 'broadcasty keygen [--vapid] [--json]',
  details: `Example: broadcasty keygen >> .env

Options:
  --vapid            a Web Push (VAPID) key pair as BROADCASTY_PUSH_VAPID_* lines instead
  --json             one JSON object of the same names and values`,
  options: { vapid: { type: 'boolean' }, json: { type: 'boolean' } },
  positionals: [0, 0],
  async run(values) {
    const lines = values.vapid ? vapidLines() : appCredentials();
    console.log(values.json ? JSON.stringify(lines, null, 2) : Object.entries(lines).map(([name, value]) => `${name}=${value}`).join('\n'));
    return EXIT.ok;
  },
};
