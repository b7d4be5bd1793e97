// The admin API's answers as the console reads them (the admin API section of docs/PROTOCOL.md, §17).

export type Transport = 'ws' | 'sse' | 'poll' | 'xhr_streaming' | 'xhr_polling';

export type ByTransport = Record<Transport, number>;

export interface Whoami {
  actor: string;
  apps: string[] | '*';
}

export interface AppSummary {
  id: string;
  key: string;
  enabled: boolean;
  authMode: string;
  history: boolean;
  push: boolean;
}

export interface NodeStats {
  node: string;
  connections: number;
  byTransport: ByTransport;
  messagesPublished: number;
  at: number;
}

export interface AppStats {
  app: string;
  at: number;
  connections: { total: number; byTransport: ByTransport };
  nodes: NodeStats[];
  channels: number;
  messages: { published: number; perSecond: number };
  webhookQueueDepth: number;
  pushQueueDepth: number;
}

export type ChannelKind = 'public' | 'private' | 'presence' | 'encrypted' | 'server-to-user';

export interface ChannelRow {
  name: string;
  subscribers: number;
  kind: ChannelKind;
  cache: boolean;
  history: boolean;
  members?: number;
}

export interface Member {
  id: string;
  info?: unknown;
}

export interface HistoryStream {
  partition: number;
  offset: number;
  epoch: string;
  first: number;
}

export interface ChannelDetail {
  name: string;
  kind: ChannelKind;
  cache: boolean;
  occupied: boolean;
  subscribers: number;
  members: Member[] | null;
  history: null | { partitions: number; streams: HistoryStream[] };
}

/** The §13.6 page, as the server types it (type-only: nothing of the server is bundled). */
export type { HistoryEvent, HistoryPage } from '../src/history/read.js';

/** One tap event: the Activity JSON plus the node it happened on. */
export interface TapActivity {
  kind: string;
  at: number;
  node?: string;
  appId?: string;
  channel?: string;
  event?: string;
  data?: string;
  truncated?: boolean;
  [field: string]: unknown;
}
