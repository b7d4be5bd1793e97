// What happens inside the server, as the debug console's live stream (src/admin/tap), the audit log
// (src/audit/) and anything else that watches see it (docs/PROTOCOL.md §17.3). Emitters test
// `feed.wants[kind]` before they build an Activity, so a kind nobody watches costs one property read.

/** Every kind, in one table: who emits it and whether the audit log keeps it. */
export const ACTIVITY_KINDS = {
  /** An event delivered to a channel: HTTP API, JWT publish, admin publish or client event (publish/hooks). */
  publish: { audited: true },
  /** One socket or HTTP session subscribed / unsubscribed a channel (channels/subscriptions). */
  subscribe: { audited: false },
  unsubscribe: { audited: false },
  /** A presence member joined / left a channel, cluster-wide once (the ChannelObserver's member events). */
  member_added: { audited: true },
  member_removed: { audited: true },
  /** A webhook request answered 2xx, or gave up after its retries (webhooks/). */
  webhook: { audited: false },
  /** A push notification a provider accepted, or one that failed for good (push/delivery). */
  push: { audited: false },
  /** A refused signature, token or admin token: subscribe, signin, connect, HTTP API, admin API. */
  auth_failure: { audited: true },
  /** Something done through the admin API or the console (publish, terminate, …). */
  admin: { audited: true },
} as const satisfies Record<string, { audited: boolean }>;

export type ActivityKind = keyof typeof ACTIVITY_KINDS;

interface Base {
  /** Milliseconds since the epoch, set by the feed. */
  at: number;
  /** The app it happened in; absent for an auth failure before the app is known. */
  appId?: string;
}

export interface PublishActivity extends Base {
  kind: 'publish';
  appId: string;
  channel: string;
  event: string;
  /** UTF-8 bytes of the data. */
  bytes: number;
  /** The data as delivered. Sinks that keep it cap it (the tap) or drop it (audit without `payloads`). */
  data: string;
  source: 'http' | 'client' | 'admin';
  /** `app` (the app secret), `user:{sub}` (a JWT publish), `admin:{token label}`, or the client socket id. */
  actor: string;
}

export interface SubscriptionActivity extends Base {
  kind: 'subscribe' | 'unsubscribe';
  appId: string;
  channel: string;
  socketId: string;
  /** The signed-in or presence user, when there is one. */
  userId?: string;
}

export interface MemberActivity extends Base {
  kind: 'member_added' | 'member_removed';
  appId: string;
  channel: string;
  userId: string;
}

export interface WebhookActivity extends Base {
  kind: 'webhook';
  appId: string;
  outcome: 'sent' | 'failed';
  /** Scheme and host of the webhook URL (its origin): never the path or query, which may hold a secret. */
  url: string;
  /** The event names the request carried (channel_occupied, member_added, …). */
  events: string[];
  status?: number;
  error?: string;
}

export interface PushActivity extends Base {
  kind: 'push';
  appId: string;
  outcome: 'sent' | 'failed';
  provider: string;
  /** What the notification was addressed to (`user:…`, `interest:…`), never the device token. */
  target: string;
  error?: string;
}

export interface AuthFailureActivity extends Base {
  kind: 'auth_failure';
  /** Where the refusal happened. */
  surface: 'subscribe' | 'signin' | 'connect' | 'http' | 'admin';
  /** The reason as the client got it (never the token or signature). */
  reason: string;
  channel?: string;
  /** Client IP address when known. */
  ip?: string;
  /** socket id, `user:{sub}` or `app` when known. */
  actor?: string;
}

export interface AdminActivity extends Base {
  kind: 'admin';
  /** `publish`, `terminate`, `console_login`, … */
  action: string;
  /** `admin` (the server-wide token), `admin:{n}` (the n-th scoped token), or `loopback` (no token configured). */
  actor: string;
  /** What it acted on: a channel, a user id. */
  target?: string;
  ip?: string;
}

export type Activity = PublishActivity | SubscriptionActivity | MemberActivity | WebhookActivity | PushActivity | AuthFailureActivity | AdminActivity;

/** An Activity before the feed stamps `at`. */
export type ActivityInput = Activity extends infer A ? (A extends Activity ? Omit<A, 'at'> : never) : never;

/** One watcher: the tap of a console, the cluster relay, the audit writer. `accept` must not throw or block. */
export interface ActivitySink {
  readonly kinds: readonly ActivityKind[];
  accept(activity: Activity): void;
}
