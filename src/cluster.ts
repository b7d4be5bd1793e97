// `broadcasty start --workers N`: a primary process forks N workers (node:cluster) that each run
// the whole server on the same port. uWS listens with SO_REUSEPORT on Linux, so the kernel spreads
// connections over the workers, and they share state through the Redis engine like any other
// nodes. The primary holds no sockets: it prints the listening line once, restarts a crashed
// worker and forwards SIGTERM/SIGINT as SIGTERM, so every worker drains with 4200 over its grace
// period, and returns once the last worker has exited.
import cluster from 'node:cluster';
import type { ServerConfig } from './config/schema.js';
import type { Logger } from './logger.js';

/** A worker that crashes again at once is not restarted in a tight loop. */
const RESTART_DELAY_MS = 500;

interface ListeningMessage {
  broadcasty: 'listening';
  port: number;
}

/** True in the primary of a multi-worker start: it must fork instead of serving. */
export function shouldFork(config: ServerConfig): boolean {
  return config.workers > 1 && cluster.isPrimary;
}

/** True in a forked worker: the primary already reported the start-up notices. */
export function inWorker(): boolean {
  return cluster.isWorker;
}

/** In a worker: report listening to the primary, and drain when the primary disappears. */
export function workerStarted(port: number): boolean {
  if (!cluster.isWorker) return false;
  process.send!({ broadcasty: 'listening', port } satisfies ListeningMessage);
  // A primary killed with -9 closes the IPC channel: drain like on SIGTERM instead of lingering.
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  return true;
}

/**
 * Forks the workers and keeps them running. Resolves with the exit code once they are all gone:
 * 0 after a signal, 1 when a worker died before all listened (a start-up error would only repeat),
 * 2 for port 0 (each worker would pick a port of its own).
 */
export function runPrimary(config: ServerConfig, log: Logger, onListening: (port: number) => void): Promise<number> {
  if (config.port === 0) {
    console.error('Invalid setting port: got 0; more than 1 worker needs a fixed port to share');
    return Promise.resolve(2);
  }
  return new Promise((resolve) => {
    let stopping = false;
    let listened = false;
    let exitCode = 0;
    let running = 0;
    const ready = new Set<number>();
    const fork = () => {
      if (stopping) return;
      const worker = cluster.fork();
      running += 1;
      worker.on('message', (message: ListeningMessage) => {
        if (message?.broadcasty !== 'listening') return;
        ready.add(worker.id);
        if (!listened && ready.size === config.workers) {
          listened = true;
          onListening(message.port);
        }
      });
    };
    const stop = (reason: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ reason }, 'stopping the workers');
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    };
    cluster.on('exit', (worker, code, signal) => {
      running -= 1;
      ready.delete(worker.id);
      if (!stopping && listened) {
        log.error({ pid: worker.process.pid, code, signal }, 'a worker died; starting a new one');
        setTimeout(fork, RESTART_DELAY_MS);
        return;
      }
      if (!stopping) {
        log.error({ pid: worker.process.pid, code, signal }, 'a worker failed to start');
        exitCode = 1;
        stop('start-up failure');
      }
      if (running === 0) resolve(exitCode);
    });
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    for (let i = 0; i < config.workers; i++) fork();
  });
}
