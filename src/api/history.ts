// GET /apps/{id}/channels/{channel}/history (docs/PROTOCOL.md §13.6): the signed HTTP wrapper
// around history/read.ts. The query parsing is exported for the other endpoints that page history.
import type { App } from '../apps/registry.js';
import { PAGE_LIMIT, readPage, type PageQuery } from '../history/read.js';
import { historyFor, type HistorySpec } from '../history/rules.js';
import type { Endpoint } from './endpoint.js';
import { checkPublishChannel } from './event-input.js';
import { HttpError, json } from './reply.js';

/** The channel's history settings; 400 for a name no publish could use (as for publishes), 404 when no rule covers it. */
export function historyChannel(app: App, channel: string): HistorySpec {
  checkPublishChannel(channel);
  const spec = historyFor(app, channel);
  if (spec === undefined) throw new HttpError(404, `Channel ${channel} keeps no history`);
  return spec;
}

export function pageQuery(params: Map<string, string>, spec: HistorySpec): PageQuery {
  return {
    from: integerParam(params, 'from', 1, Number.MAX_SAFE_INTEGER, 1),
    limit: integerParam(params, 'limit', 1, PAGE_LIMIT.max, PAGE_LIMIT.default),
    partition: integerParam(params, 'partition', 0, spec.partitions - 1, 0),
  };
}

function integerParam(params: Map<string, string>, name: string, min: number, max: number, fallback: number): number {
  const raw = params.get(name);
  if (raw === undefined) return fallback;
  const value = /^\d{1,16}$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= min && value <= max)) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`;
    throw new HttpError(400, `Invalid ${name}: got ${JSON.stringify(raw.slice(0, 40))}; expected ${range}`);
  }
  return value;
}

export const channelHistory: Endpoint = async ({ app, params, route, ctx }) => {
  const channel = route.channel!;
  const spec = historyChannel(app, channel);
  return json(await readPage(ctx.engine, app.id, channel, spec, pageQuery(params, spec)));
};
