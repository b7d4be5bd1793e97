// The one readiness answer, served on the main port's /ready and the metrics port's /ready, so a
// load balancer and a Kubernetes probe never disagree: draining (SIGTERM) or a degraded engine
// (Redis unreachable) → 503.
import type { Engine } from './engine/types.js';

export interface Readiness {
  status: 200 | 503;
  body: { ready: boolean; draining?: true; engine?: 'degraded' };
}

export function readiness(state: { draining: boolean; engine: Pick<Engine, 'health'> }): Readiness {
  if (state.draining) return { status: 503, body: { ready: false, draining: true } };
  if (state.engine.health() !== 'ok') return { status: 503, body: { ready: false, engine: 'degraded' } };
  return { status: 200, body: { ready: true } };
}
