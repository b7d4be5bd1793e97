// The test helpers themselves: a machine without redis-server gets an install hint, not a raw
// `spawn redis-server ENOENT`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';

describe('test support', () => {
  it('RedisServer.start() without redis-server on PATH says how to install it', async () => {
    const script = `import { RedisServer } from ${JSON.stringify(new URL('./support/redis.ts', import.meta.url).href)};
      RedisServer.start().then(() => console.log('started'), (e) => console.log(e.message));`;
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', script], { env: { PATH: '/nonexistent' }, timeout: 20_000 }, (error, stdout) =>
        error ? reject(error) : resolve(stdout),
      ),
    );
    assert.equal(out.trim(), 'redis-server not found: install redis-server (apt-get install redis-server) to run the Redis tests');
  });
});
