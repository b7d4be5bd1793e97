// The Pusher REST API signature (docs/PROTOCOL.md §5.2): HMAC-SHA256 of method, path and sorted
// query with the app's secret, body_md5 over the body, 600 s clock window.
import { verifyRequest } from '../../protocol/index.js';
import type { App } from '../apps/registry.js';
import type { HttpRequest } from '../transport/types.js';
import type { Authentication } from './types.js';

export function verifyPusherSignature(app: App, request: HttpRequest): Authentication {
  return verifyRequest({
    method: request.method,
    path: request.path,
    rawQuery: request.query,
    body: request.body,
    secretForKey: (key) => (key === app.key ? app.secret : undefined),
    nowSeconds: Date.now() / 1000,
  });
}
