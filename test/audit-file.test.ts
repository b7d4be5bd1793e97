// The audit log's file and stdout sinks on a real file system and a real process (docs/PROTOCOL.md
// §17.4): rotation past maxFileBytes loses and splits no line, retention deletes only rotated files
// older than retentionDays, cluster workers each rotate their own file, and `audit.sink stdout`
// prints one JSON line per entry on the CLI's stdout.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import type { PublishActivity } from '../src/activity/types.js';
import type { AuditEntry } from '../src/audit/entry.js';
import { FileAuditSink } from '../src/audit/file-sink.js';
import { AuditWriter } from '../src/audit/writer.js';
import { createLogger } from '../src/logger.js';
import { APP, sdk, until } from './support/cluster.js';
import { freePort, runCli, untilListening, type CliProcess } from './support/cli-process.js';
import { startTestServer } from './support/in-process.js';
import { scratchDir } from './support/scratch.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const ROTATED = /^audit\.log\.\d{8}T\d{9}Z(-\d+)?$/;
const silent = createLogger('silent');

const publish = (n: number, actor = 'app'): PublishActivity => ({
  kind: 'publish',
  at: Date.now(),
  appId: APP.id,
  channel: 'orders',
  event: `order-${n}`,
  bytes: 40,
  data: '{"pad":"do not write me, I am the payload"}',
  source: 'http',
  actor,
});

/** Every line of the files, oldest file first (rotated names sort by time; the live file last). */
function linesOf(dir: string, prefix: string): string[] {
  const names = readdirSync(dir).filter((name) => name.startsWith(prefix));
  names.sort((a, b) => (a === prefix ? 1 : b === prefix ? -1 : a.localeCompare(b)));
  return names.flatMap((name) => readFileSync(join(dir, name), 'utf8').split('\n').filter((line) => line !== ''));
}

describe('audit file sink', () => {
  it('rotates past maxFileBytes to {file}.{UTC timestamp}: every entry once, in order, no split line', async () => {
    const dir = scratchDir('audit-rotate');
    const file = join(dir, 'audit.log');
    const writer = new AuditWriter(new FileAuditSink(file, 4096, 30, silent), { flushMs: 10, payloads: false }, silent);
    for (let n = 0; n < 300; n++) {
      writer.accept(publish(n));
      if (n % 25 === 24) await writer.flush();
    }
    await writer.stop();
    const rotated = readdirSync(dir).filter((name) => name !== 'audit.log');
    assert.ok(rotated.length >= 3, `rotated files: ${rotated.join(', ')}`);
    for (const name of rotated) {
      assert.match(name, ROTATED);
      assert.ok(readFileSync(join(dir, name)).length >= 4096, `${name} was rotated past maxFileBytes`);
    }
    const entries = linesOf(dir, 'audit.log').map((line) => JSON.parse(line) as AuditEntry);
    assert.deepEqual(
      entries.map((e) => e.event),
      Array.from({ length: 300 }, (_, n) => `order-${n}`),
    );
    assert.ok(!linesOf(dir, 'audit.log').join('').includes('payload'), 'no data without audit.payloads');
  });

  it('while the sink fails, waiting entries are bounded by size too (oldest dropped); without audit.payloads the data is not held', async () => {
    const dir = join(scratchDir('audit-bytes'), 'not-yet');
    const file = join(dir, 'audit.log');
    const big = (n: number): PublishActivity => ({ ...publish(n), data: 'x'.repeat(100_000) });
    const run = async (payloads: boolean) => {
      const writer = new AuditWriter(new FileAuditSink(file, 1 << 30, 30, silent), { flushMs: 60_000, payloads }, silent, 1_000_000);
      for (let n = 0; n < 100; n++) writer.accept(big(n));
      await writer.flush();
      mkdirSync(dir, { recursive: true });
      await writer.stop();
      const events = readFileSync(file, 'utf8').split('\n').filter((line) => line !== '').map((line) => (JSON.parse(line) as AuditEntry).event);
      rmSync(dir, { recursive: true });
      return events;
    };
    const withPayloads = await run(true);
    assert.ok(withPayloads.length > 0 && withPayloads.length < 10, `kept ${withPayloads.length} of 100 (200 kB each, 1 MB allowed)`);
    assert.equal(withPayloads.at(-1), 'order-99', 'the newest are kept');
    assert.equal((await run(false)).length, 100, 'entries without data are small: all kept');
  });

  it('refuses to start when audit.file cannot be written, naming the setting', async () => {
    const file = join(scratchDir('audit-missing'), 'no-such-dir', 'audit.log');
    await assert.rejects(startTestServer({ apps: [{ ...APP }], audit: { sink: 'file', file } }), /Invalid setting audit\.file: got ".*no-such-dir\/audit\.log"; its directory must exist and be writable \(ENOENT\)/);
  });

  it('deletes rotated files older than retentionDays when it starts, and nothing else', async () => {
    const dir = scratchDir('audit-retention');
    const file = join(dir, 'audit.log');
    const aged = (name: string, days: number) => {
      writeFileSync(join(dir, name), '{}\n');
      const when = new Date(Date.now() - days * DAY_MS);
      utimesSync(join(dir, name), when, when);
    };
    aged('audit.log', 40);
    aged('audit.log.20200101T000000000Z', 40);
    aged('audit.log.20200102T000000000Z-2', 31);
    aged('audit.log.20261201T000000000Z', 29);
    aged('audit.log.bak', 40);
    aged('other.log.20200101T000000000Z', 40);
    // Workers that died: a respawned worker gets a new id and never touches these again.
    aged('audit.log.worker3', 40);
    aged('audit.log.worker3.20200101T000000000Z', 40);
    aged('audit.log.worker4', 29);
    aged('audit.log.workers', 40);
    const writer = new AuditWriter(new FileAuditSink(file, 4096, 30, silent), { flushMs: 10, payloads: false }, silent);
    try {
      const kept = ['audit.log', 'audit.log.20261201T000000000Z', 'audit.log.bak', 'audit.log.worker4', 'audit.log.workers', 'other.log.20200101T000000000Z'];
      await until(() => readdirSync(dir).length === kept.length, 10_000, 'old rotated and dead workers’ files deleted');
      assert.deepEqual(readdirSync(dir).sort(), kept);
    } finally {
      await writer.stop();
    }
  });

  it('two processes pruning the same directory at once: every old file goes, and no failure is logged', async () => {
    const dir = scratchDir('audit-retention-race');
    const file = join(dir, 'audit.log');
    const when = new Date(Date.now() - 40 * DAY_MS);
    for (let n = 0; n < 200; n++) {
      const name = join(dir, `audit.log.worker${n}`);
      writeFileSync(name, '{}\n');
      utimesSync(name, when, when);
    }
    writeFileSync(file, '');
    const warnings: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
    // Each writer prunes as it starts, so both passes run over the same listing together.
    const writers = [0, 1].map(() => new AuditWriter(new FileAuditSink(file, 4096, 30, log), { flushMs: 10, payloads: false }, log));
    try {
      await until(() => readdirSync(dir).length === 1, 15_000, 'every old worker file deleted');
      assert.deepEqual(readdirSync(dir), ['audit.log']);
    } finally {
      await Promise.all(writers.map((writer) => writer.stop()));
    }
    assert.deepEqual(warnings, []);
  });

  it('cluster workers write and rotate {file}.worker{n} each: no entry lost or interleaved', async () => {
    const dir = scratchDir('audit-cluster');
    const file = join(dir, 'audit.log');
    const script = join(dir, 'workers.mts');
    const src = new URL('../src/', import.meta.url).pathname;
    writeFileSync(
      script,
      `import cluster from 'node:cluster';
import { FileAuditSink } from ${JSON.stringify(`${src}audit/file-sink.ts`)};
import { AuditWriter } from ${JSON.stringify(`${src}audit/writer.ts`)};
import { createLogger } from ${JSON.stringify(`${src}logger.ts`)};
if (cluster.isPrimary) {
  let left = 2;
  for (let i = 0; i < 2; i++) cluster.fork().on('exit', (code) => { if (code !== 0) process.exit(1); if (--left === 0) process.exit(0); });
} else {
  const log = createLogger('silent');
  const writer = new AuditWriter(new FileAuditSink(${JSON.stringify(file)}, 4096, 30, log), { flushMs: 5, payloads: false }, log);
  for (let n = 0; n < 400; n++) {
    writer.accept({ kind: 'publish', at: Date.now(), appId: 'a', channel: 'c', event: 'e-' + n, bytes: 1, data: '', source: 'http', actor: 'worker-' + cluster.worker!.id });
    if (n % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await writer.stop();
  process.exit(0);
}
`,
    );
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), script], { stdio: ['ignore', 'inherit', 'inherit'] });
    assert.equal(await new Promise((resolve) => child.on('exit', resolve)), 0);
    for (const worker of [1, 2]) {
      const prefix = `audit.log.worker${worker}`;
      assert.ok(readdirSync(dir).filter((name) => name.startsWith(`${prefix}.`)).length >= 2, `worker ${worker} rotated`);
      const entries = linesOf(dir, prefix).map((line) => JSON.parse(line) as AuditEntry);
      assert.ok(entries.every((e) => e.actor === `worker-${worker}`), 'only its own entries');
      assert.deepEqual(
        entries.map((e) => e.event),
        Array.from({ length: 400 }, (_, n) => `e-${n}`),
      );
    }
    assert.ok(!readdirSync(dir).includes('audit.log'), 'workers never write the shared name');
  });
});

describe('audit stdout sink', () => {
  let cli: CliProcess | undefined;
  after(async () => {
    cli?.child.kill('SIGTERM');
    await cli?.exited;
  });

  it('prints one JSON line per entry on stdout, beside the log', async () => {
    const port = await freePort();
    cli = runCli(['start', '--host', '127.0.0.1', '--port', String(port)], {
      BROADCASTY_APP_ID: APP.id,
      BROADCASTY_APP_KEY: APP.key,
      BROADCASTY_APP_SECRET: APP.secret,
      BROADCASTY_AUDIT: 'stdout',
    });
    await untilListening(cli);
    await sdk(port).trigger('orders', 'order.placed', { id: 1 });
    const line = await until(() => cli!.stdout().split('\n').find((l) => l.includes('"kind":"publish"')), 15_000, 'the publish entry on stdout');
    const entry = JSON.parse(line!) as AuditEntry;
    assert.deepEqual([entry.app_id, entry.actor, entry.channel, entry.event, entry.bytes, entry.detail], [APP.id, 'app', 'orders', 'order.placed', 8, { source: 'http' }]);
  });
});
