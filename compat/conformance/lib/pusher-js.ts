// pusher-js 8 (its Node build) pointed at the target, signing channel and user auth locally
// through customHandler so no auth endpoint is needed. Used where the checklist speaks of what
// pusher-js *does* (retry or not, re-subscribe), which raw frames alone cannot show.
import PusherModule from 'pusher-js';
import type { CaseContext } from '../types.js';
import { sleep } from './kit.js';
import { signChannel, signUser } from './sign.js';

// pusher-js is CommonJS: at run time the default import is the Pusher class, but under NodeNext
// its typings describe the module namespace; this restores the class type.
const Pusher = PusherModule as unknown as typeof PusherModule.default;
type Pusher = InstanceType<typeof Pusher>;

export interface PusherJsOptions {
  key?: string;
  secret?: string;
  port?: number;
  /** user_data string returned by the user-auth handler (for `pusher.signin()`). */
  userData?: string;
  /** Auth value returned for every channel instead of a correct signature (negative tests). */
  badChannelAuth?: string;
}

export interface StateChange {
  previous: string;
  current: string;
  at: number;
}

export interface PusherJsClient {
  pusher: Pusher;
  /** Every state_change, in order, with a timestamp. */
  states: StateChange[];
  /** `connecting_in` events (seconds until the next attempt), i.e. delayed retries. */
  delayedRetries: { seconds: number; at: number }[];
  /** The first change to `state` at or after index `from` of `states`, waiting up to `timeoutMs`. */
  waitForState(state: string, timeoutMs: number, from?: number): Promise<StateChange>;
}

export function pusherJs(ctx: CaseContext, opts: PusherJsOptions = {}): PusherJsClient {
  const t = ctx.target;
  const key = opts.key ?? t.key;
  const secret = opts.secret ?? t.secret;
  const pusher = new Pusher(key, {
    cluster: '',
    wsHost: t.host,
    wsPort: opts.port ?? t.port,
    wssPort: opts.port ?? t.port,
    wsPath: t.pathPrefix,
    forceTLS: t.tls,
    enabledTransports: ['ws'],
    disableStats: true,
    channelAuthorization: {
      customHandler: ({ socketId, channelName }, callback) => {
        if (opts.badChannelAuth !== undefined) return callback(null, { auth: opts.badChannelAuth });
        callback(null, { auth: signChannel(secret, key, socketId, channelName) });
      },
    },
    userAuthentication: {
      customHandler: ({ socketId }, callback) => {
        const userData = opts.userData ?? JSON.stringify({ id: 'pusher-js-user' });
        callback(null, { auth: signUser(secret, key, socketId, userData), user_data: userData });
      },
    },
  });
  ctx.cleanup(() => pusher.disconnect());
  // The constructor already started connecting: record that state, which no state_change reports.
  const states: StateChange[] = [{ previous: 'initialized', current: pusher.connection.state, at: Date.now() }];
  const delayedRetries: { seconds: number; at: number }[] = [];
  pusher.connection.bind('state_change', (s: { previous: string; current: string }) => states.push({ ...s, at: Date.now() }));
  pusher.connection.bind('connecting_in', (seconds: number) => delayedRetries.push({ seconds, at: Date.now() }));
  // pusher-js logs handshake errors through `error` events; binding keeps them from being unhandled.
  pusher.connection.bind('error', () => undefined);
  const waitForState = async (state: string, timeoutMs: number, from = 0): Promise<StateChange> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = states.slice(from).find((s) => s.current === state);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`pusher-js did not reach "${state}" within ${timeoutMs} ms; states: ${describeStates(states)}`);
      await sleep(20);
    }
  };
  return { pusher, states, delayedRetries, waitForState };
}

export function describeStates(states: StateChange[]): string {
  return states.map((s) => s.current).join(' → ') || '(none)';
}

/** Resolves with the first payload of `event` on `target` (a channel, pusher.user, …). */
export function once<T = unknown>(target: { bind(event: string, cb: (data: T) => void): unknown }, event: string, timeoutMs = 5000): Promise<T> {
  const promise = new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pusher-js: no "${event}" within ${timeoutMs} ms`)), timeoutMs);
    target.bind(event, (data: T) => {
      clearTimeout(timer);
      resolve(data);
    });
  });
  // Often created before the action that triggers the event; if that action throws, the case has
  // already failed and this later timeout must not surface as an unhandled rejection.
  promise.catch(() => undefined);
  return promise;
}
