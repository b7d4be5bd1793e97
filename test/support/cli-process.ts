// Broadcasty as users run it: the CLI in a child process, with env and arguments.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface CliProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

const REPO = new URL('../..', import.meta.url).pathname;

/** `cwd` other than the repository: where a user keeps the Laravel .env the CLI reads. */
export function runCli(args: string[], env: Record<string, string> = {}, options: { cwd?: string } = {}): CliProcess {
  // tsx and the CLI by absolute path, so any working directory works.
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), `${REPO}src/cli.ts`, ...args], {
    cwd: options.cwd ?? REPO,
    env: { PATH: process.env.PATH, BROADCASTY_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Resolves once the CLI printed its listening line; rejects if it exits first. */
export async function untilListening(cli: CliProcess, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void cli.exited.then((code) => (exitCode = code));
  while (!cli.stdout().includes('Broadcasty listening on')) {
    if (exitCode !== undefined) throw new Error(`broadcasty exited with ${exitCode}: ${cli.stderr()}`);
    if (Date.now() > deadline) throw new Error(`broadcasty did not start within ${timeoutMs} ms: ${cli.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end: exit code and what it printed. */
export async function cliResult(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const cli = runCli(args, env);
  const code = await cli.exited;
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
}

let inProcessQueue: Promise<unknown> = Promise.resolve();

/**
 * A client command (src/cli/commands.ts) run in this process as the CLI runs it, with what it
 * prints captured: one child process per command costs seconds on a loaded machine. Commands run
 * one at a time, since console is swapped while one runs. Settings come from the arguments
 * (--config, --url) and this process's environment, as in the child.
 */
export function cliInProcess(args: string[]): Promise<CliResult> {
  const run = inProcessQueue.then(async () => {
    const [{ COMMANDS }, { runCommand }, { format }] = await Promise.all([import('../../src/cli/commands.js'), import('../../src/cli/command.js'), import('node:util')]);
    const command = COMMANDS.get(args[0]!);
    if (command === undefined) throw new Error(`not a client command: ${args[0]}`);
    let stdout = '';
    let stderr = '';
    const { log, error } = console;
    console.log = (...parts: unknown[]) => (stdout += `${format(...parts)}\n`);
    console.error = (...parts: unknown[]) => (stderr += `${format(...parts)}\n`);
    try {
      const code = await runCommand(command, args.slice(1));
      return { code, stdout, stderr };
    } finally {
      Object.assign(console, { log, error });
    }
  });
  inProcessQueue = run.catch(() => {});
  return run;
}
