// GET /broadcasty/replay?channel=&partition=&from=&limit= (docs/PROTOCOL.md §14.5): the §13.6
// history page for a JWT principal with the `history` action.
import { readPage } from '../../history/read.js';
import type { Endpoint } from '../endpoint.js';
import { historyChannel, pageQuery } from '../history.js';
import { json } from '../reply.js';
import { allow, channelNamed } from './input.js';

export const replay: Endpoint = async ({ app, params, principal, ctx }) => {
  const channel = channelNamed(params.get('channel'), 'in the query');
  // The policy first: whether another tenant's channel keeps history is not for this principal to learn.
  await allow(app, principal!, channel, 'history');
  const spec = historyChannel(app, channel);
  return json(await readPage(ctx.engine, app.id, channel, spec, pageQuery(params, spec)));
};
