// The Broadcasty client: a Pusher-protocol client with Broadcasty's extensions (README "Client SDK").
// It wires the connection (transports, reconnect, tokens), the channel table (subscriptions,
// positions, resume) and presence rooms to the publish side: the offline outbox, backpressure
// delivery and request/response.
import { createDelivery } from './backpressure.js';
import { ChannelTable, type ChannelListener, type SubscriptionError } from './channels.js';
import { Connection } from './connection.js';
import { randomId } from './ids.js';
import { Outbox } from './outbox.js';
import { PresenceRoom } from './presence.js';
import { httpPublisher } from './publish-http.js';
import { DEFAULT_TIMEOUT_MS as REQUEST_TIMEOUT_MS, Requests } from './request.js';
import { memoryStore, offlineStore } from './stores/index.js';
import { defaultReplyChannel } from './token.js';
import {
  BroadcastyError,
  type BackpressureStats,
  type BroadcastyClientOptions,
  type ClientEvents,
  type ConnectionState,
  type Message,
  type OfflineStore,
  type Presence,
  type PublishOptions,
  type PublishResult,
  type RequestOptions,
  type RespondOptions,
  type SubscribeOptions,
  type Subscription,
  type TransportName,
} from './types.js';
import { errorOfStatus, redact, redactFields } from './wire.js';

const TRANSPORT_CHOICES = ['auto', 'ws', 'sse', 'poll'];
const BACKPRESSURE_CHOICES = ['drop', 'queue', 'slow-start'];
/** 2.5 × the server's default SSE heartbeat (httpHeartbeatSeconds 15): silence past it is a dead connection. */
const SSE_IDLE_MS = 37_500;
/** The server holds a poll up to 25 s; past that and a margin the answer is lost. */
const POLL_TIMEOUT_MS = 35_000;

export interface ClientStats {
  state: ConnectionState;
  transport: TransportName | undefined;
  /** Publishes waiting in the offline queue. */
  queuedPublishes: number;
  subscriptions: { channel: string; messages: BackpressureStats }[];
}

type Handlers = { [E in keyof ClientEvents]: Set<ClientEvents[E]> };

export class BroadcastyClient {
  private readonly connection: Connection;
  private readonly table: ChannelTable;
  private readonly outbox: Outbox;
  private readonly requests: Requests;
  private readonly handlers: Handlers = { state: new Set(), transport: new Set(), dropped: new Set(), error: new Set() };
  private readonly subscriptions = new Set<{ channel: string; stats(): BackpressureStats }>();
  /** The reply channel's subscription, settled once the server confirmed (or refused) it. */
  private replyReady: Promise<void> | undefined;

  constructor(private readonly options: BroadcastyClientOptions) {
    checkOptions(options);
    const fetchFunction = options.fetch ?? globalThis.fetch.bind(globalThis);
    const WebSocketClass = options.WebSocket ?? (globalThis as { WebSocket?: BroadcastyClientOptions['WebSocket'] }).WebSocket;
    this.connection = new Connection(
      {
        url: options.url,
        appKey: options.appKey,
        transport: options.transport ?? 'auto',
        getToken: options.getToken ?? (() => null),
        fetch: fetchFunction,
        WebSocket: WebSocketClass,
        minDelayMs: options.reconnect?.minDelayMs ?? 500,
        maxDelayMs: options.reconnect?.maxDelayMs ?? 30_000,
        sseIdleMs: options.watchdog?.sseIdleMs ?? SSE_IDLE_MS,
        pollTimeoutMs: options.watchdog?.pollTimeoutMs ?? POLL_TIMEOUT_MS,
      },
      {
        channels: () => this.table.requests(),
        opened: () => void this.outbox.flush().catch((error: unknown) => this.log('warn', 'offline queue flush failed', { error: String(error) })),
        frame: (frame) => typeof frame.channel === 'string' && this.table.frame(frame.channel, frame),
        channelRefused: (status, message, channel) => this.table.refuse(channel, errorOfStatus(status, `subscription to ${channel} refused (${status}): ${message}`)),
        state: (state) => this.emit('state', state),
        transport: (name) => this.emit('transport', name),
        error: (error) => this.emit('error', error),
        debug: (message, fields) => this.log('debug', message, fields),
      },
    );
    this.table = new ChannelTable({
      token: () => this.connection.tokenNow(),
      subscribe: (request) => this.connection.subscribe(request),
      resubscribe: (request) => {
        this.connection.unsubscribe(request.channel);
        this.connection.subscribe(request);
      },
      unsubscribe: (channel) => this.connection.unsubscribe(channel),
    });
    const offline = options.offline ?? {};
    const connection = this.connection;
    this.outbox = new Outbox({
      store: storeOf(offline.store, `${options.url}|${options.appKey}`),
      maxEntries: offline.store === 'none' ? 0 : (offline.maxEntries ?? 1000),
      dropPolicy: offline.store === 'none' ? 'newest' : (offline.dropPolicy ?? 'oldest'),
      host: {
        token: (refresh) => connection.currentToken(refresh),
        get online() {
          return connection.online;
        },
      },
      send: httpPublisher({ url: options.url, appKey: options.appKey, fetch: fetchFunction }),
      timeoutMs: options.timeoutMs ?? 10_000,
      onDropped: (entry, error) => this.emit('dropped', entry, error),
      onStoreError: (error) => this.log('warn', 'offline store failed: queued publishes are kept in memory only', { error: String(error) }),
    });
    this.requests = new Requests(
      (publish) => this.publish(publish),
      () => this.replyChannel(),
    );
  }

  get state(): ConnectionState {
    return this.connection.state;
  }

  get transport(): TransportName | undefined {
    return this.connection.transportName;
  }

  connect(): this {
    this.connection.connect();
    return this;
  }

  /** Closes the connection and every subscription; publishes still waiting reject with `closed` (stored ones stay for the next client). */
  disconnect(): void {
    this.connection.disconnect();
    this.table.close();
    this.subscriptions.clear();
    this.outbox.close();
    this.requests.close();
    this.replyReady = undefined;
  }

  on<E extends keyof ClientEvents>(event: E, handler: ClientEvents[E]): () => void {
    const handlers = this.handlers[event] as Set<ClientEvents[E]>;
    handlers.add(handler);
    return () => handlers.delete(handler);
  }

  subscribe<T = unknown>(options: SubscribeOptions<T>): Subscription {
    return this.listen(options);
  }

  /** `watch` hears when the server confirms the subscription (subscription_succeeded) and when it is dropped (refused). */
  private listen<T>(options: SubscribeOptions<T>, watch?: { confirmed(): void; dropped(error: SubscriptionError): void }): Subscription {
    const { channel } = options;
    const onError = options.onError ?? ((error: SubscriptionError) => this.emit('error', error));
    const delivery = createDelivery<T>(
      this.options.backpressure ?? 'queue',
      { onMessage: options.onMessage, onBatch: options.onBatch, onError: (error) => this.log('error', `a handler on ${channel} failed`, { error: String(error) }) },
      { maxQueued: this.options.maxQueuedMessages ?? 1000, maxBatch: this.options.maxBatchSize ?? 64 },
    );
    const record = { channel, stats: () => delivery.stats() };
    const listener: ChannelListener = {
      deliver: (message) => delivery.push(message as Message<T>),
      ...(watch === undefined ? {} : { internal: (frame) => frame.event === 'pusher_internal:subscription_succeeded' && watch.confirmed() }),
      fail: (error, dropped) => {
        if (dropped) {
          this.subscriptions.delete(record);
          watch?.dropped(error);
        }
        onError(error);
      },
    };
    this.subscriptions.add(record);
    this.table.add(channel, listener, options.fromSequence);
    this.connection.connect();
    return {
      channel,
      stats: () => delivery.stats(),
      close: () => {
        this.subscriptions.delete(record);
        this.table.remove(channel, listener);
        delivery.close();
      },
    };
  }

  presence(channel: string): Presence {
    if (!channel.startsWith('presence-')) throw new BroadcastyError('bad_request', `presence() takes a presence channel (presence-…), got ${channel}`);
    const room = new PresenceRoom(
      channel,
      (closed) => this.table.remove(channel, closed),
      (error) => this.emit('error', error),
      (event, error) => this.log('error', `a presence ${event} handler on ${channel} threw`, { error: String(error) }),
    );
    this.table.add(channel, room);
    this.connection.connect();
    return room;
  }

  /** Resolves once the server took it; offline or after a retryable failure it waits in the offline queue (same idempotency key on every attempt). */
  publish<T = unknown>(options: PublishOptions<T>): Promise<PublishResult> {
    const entry = {
      id: randomId(),
      channel: options.channel,
      event: options.event,
      data: JSON.stringify(options.payload),
      ...(options.meta === undefined ? {} : { meta: options.meta }),
      ...(options.correlationId === undefined ? {} : { correlationId: options.correlationId }),
      ...(options.partitionKey === undefined ? {} : { partitionKey: options.partitionKey }),
      queuedAt: Date.now(),
    };
    this.connection.connect();
    return this.outbox.publish(entry, options.timeoutMs);
  }

  async request<Req = unknown, Res = unknown>(options: RequestOptions<Req>): Promise<Message<Res>> {
    this.connection.connect();
    let replyChannel: string;
    try {
      // The default reply channel comes from the token's claims: fetched here when no connect has yet.
      replyChannel = this.options.replyChannel ?? defaultReplyChannel(await this.connection.currentToken(false));
    } catch (error) {
      throw new BroadcastyError('bad_request', error instanceof Error ? error.message : String(error));
    }
    // A reply must find the subscription live: publish only once the server confirmed it.
    const startedAt = Date.now();
    const timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new BroadcastyError('timeout', `request on ${options.channel}: the reply channel ${replyChannel} was not confirmed within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.replies(replyChannel), late]);
    } finally {
      clearTimeout(timer);
    }
    return this.requests.request<Res>(options, Date.now() - startedAt);
  }

  /** Subscribes the reply channel once; a refusal rejects the requests waiting on it, and the next request() tries again. */
  private replies(channel: string): Promise<void> {
    this.replyReady ??= new Promise<void>((resolve, reject) => {
      this.listen(
        { channel, onMessage: (message) => void this.requests.settle(message) },
        {
          confirmed: resolve,
          dropped: (error) => {
            this.replyReady = undefined;
            reject(error);
          },
        },
      );
    });
    return this.replyReady;
  }

  respond<Req = unknown, Res = unknown>(options: RespondOptions<Req, Res>): Subscription {
    return this.subscribe<Req>({ channel: options.channel, onMessage: this.requests.responder(options) });
  }

  /**
   * Empties the offline queue, every user's entries (each user's stay stored for that user's next
   * session otherwise): call it at logout when they must not wait. Their publish() promises reject with `dropped`.
   */
  clearOffline(): Promise<void> {
    return this.outbox.clear();
  }

  /** Sends what the offline queue holds now (it also does on every reconnect). */
  flushOffline(): Promise<void> {
    return this.outbox.flush();
  }

  stats(): ClientStats {
    return {
      state: this.state,
      transport: this.transport,
      queuedPublishes: this.outbox.size(),
      subscriptions: [...this.subscriptions].map(({ channel, stats }) => ({ channel, messages: stats() })),
    };
  }

  private replyChannel(): string {
    return this.options.replyChannel ?? defaultReplyChannel(this.connection.tokenNow());
  }

  private emit<E extends keyof ClientEvents>(event: E, ...args: Parameters<ClientEvents[E]>): void {
    for (const handler of this.handlers[event]) {
      try {
        (handler as (...values: Parameters<ClientEvents[E]>) => void)(...args);
      } catch (error) {
        this.log('error', `a ${event} handler threw`, { error: String(error) });
      }
    }
    if (event === 'error') this.log('warn', (args[0] as BroadcastyError).message);
  }

  private log(level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>): void {
    this.options.log?.(level, redact(message), fields === undefined ? undefined : redactFields(fields));
  }
}

function storeOf(store: NonNullable<BroadcastyClientOptions['offline']>['store'], name: string): OfflineStore {
  if (store === undefined || store === 'auto') return offlineStore('auto', `broadcasty:outbox:${name}`);
  if (store === 'memory' || store === 'none') return memoryStore();
  return store;
}

/** Config errors name the setting, the bad value and what is allowed. */
function checkOptions(options: BroadcastyClientOptions): void {
  const fail = (setting: string, value: unknown, allowed: string) => {
    throw new BroadcastyError('bad_request', `BroadcastyClient option ${setting}: ${JSON.stringify(value)} is not allowed; expected ${allowed}`);
  };
  try {
    const url = new URL(options.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') fail('url', options.url, 'an http(s) URL such as https://ws.example.com');
  } catch (error) {
    if (error instanceof BroadcastyError) throw error;
    fail('url', options.url, 'an http(s) URL such as https://ws.example.com');
  }
  if (typeof options.appKey !== 'string' || options.appKey === '') fail('appKey', options.appKey, 'the app key, a non-empty string');
  if (options.transport !== undefined && !TRANSPORT_CHOICES.includes(options.transport)) fail('transport', options.transport, TRANSPORT_CHOICES.join(', '));
  if (options.backpressure !== undefined && !BACKPRESSURE_CHOICES.includes(options.backpressure)) fail('backpressure', options.backpressure, BACKPRESSURE_CHOICES.join(', '));
}
