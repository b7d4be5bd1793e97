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
