// The metrics port (like soketi's 9601): GET /metrics (Prometheus text), GET /usage (JSON),
// GET /ready (the same answer as the main port's).
// node:http is enough here: scrapes are rare and off the hot path.
import { createServer, type Server } from 'node:http';
import type { Readiness } from '../readiness.js';
import type { Metrics } from './metrics.js';

export interface UsageSource {
  connectionCount(): number;
  /** The main port's /ready answer (src/readiness.ts), so both ports tell one truth. */
  readiness(): Readiness;
}

export async function startMetricsServer(metrics: Metrics, usage: UsageSource, host: string, port: number): Promise<{ port: number; close(): Promise<void> }> {
  metrics.collectProcessMetrics();
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      metrics.registry.metrics().then(
        (body) => {
          res.writeHead(200, { 'Content-Type': metrics.registry.contentType });
          res.end(body);
        },
        (error: Error) => {
          res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
          res.end(`metrics collection failed: ${error.message}`);
        },
      );
      return;
    }
    if (req.method === 'GET' && path === '/usage') {
      const memory = process.memoryUsage();
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ connections: usage.connectionCount(), memory: { rss: memory.rss, heapUsed: memory.heapUsed, heapTotal: memory.heapTotal, external: memory.external } }));
      return;
    }
    if (req.method === 'GET' && path === '/ready') {
      const ready = usage.readiness();
      res.writeHead(ready.status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(ready.body));
      return;
    }
    if (req.method === 'GET' && path === '/') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('OK');
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(`Not found: ${req.method} ${path}`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: Error) => reject(new Error(`cannot listen for metrics on ${host}:${port}: ${error.message}`)));
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
