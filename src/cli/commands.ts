// Every `broadcasty <command>` besides start and migrate, in the order `broadcasty --help` lists them.
import { channel } from './channel.js';
import { channels } from './channels.js';
import type { Command } from './command.js';
import { doctor } from './doctor.js';
import { keygen } from './keygen.js';
import { monitor } from './monitor.js';
import { stats } from './stats.js';
import { terminate } from './terminate.js';
import { token } from './token.js';
import { trigger } from './trigger.js';
import { users } from './users.js';

export const COMMANDS: ReadonlyMap<string, Command> = new Map(
  [trigger, channels, channel, users, terminate, stats, monitor, keygen, token, doctor].map((command) => [command.name, command]),
);

/** The lines `broadcasty --help` adds under Commands, aligned with its start and migrate lines. */
export function commandSummaries(): string[] {
  return [...COMMANDS.values()].map((command) => `  ${command.name.padEnd(10)} ${command.summary}`);
}
