// Pusher close/error codes (docs/PROTOCOL.md §1.4). Messages are the hosted texts where known.

export const ErrorCode = {
  TlsOnly: 4000,
  UnknownApp: 4001,
  AppDisabled: 4003,
  OverQuota: 4004,
  PathNotFound: 4005,
  UnsupportedProtocol: 4007,
  Unauthorized: 4009,
  OverCapacity: 4100,
  ReconnectImmediately: 4200,
  PongNotReceived: 4201,
  TokenExpired: 4203,
  ClientEventRateLimit: 4301,
  WatchlistLimit: 4302,
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

export const ErrorMessage = {
  tlsOnly: 'Application only accepts SSL connections, reconnect using wss://',
  unknownApp: (key: string) => `App key ${key} not in this cluster. Did you forget to specify the cluster?`,
  appDisabled: 'Application disabled',
  overQuota: 'Application is over connection quota',
  pathNotFound: 'Path not found',
  unsupportedProtocol: 'Unsupported protocol version',
  originNotAllowed: 'Origin not allowed',
  unauthorized: 'Connection is unauthorized',
  notAuthorizedInTime: 'Connection not authorized within timeout.',
  terminated: 'You got disconnected by the app.',
  overCapacity: 'Over capacity',
  shuttingDown: 'Server is shutting down, reconnect immediately',
  pongNotReceived: 'Pong reply not received',
  tokenExpired: 'Token expired: reconnect with a fresh token',
  slowConsumer: 'Over capacity: the client does not read its messages fast enough',
  tooManyEarlyFrames: 'Over capacity: too many messages before connection_established',
  clientEventRateLimit: 'Client event rejected due to rate limit',
  watchlistLimit: 'Watchlist limit exceeded. Only the first 100 user IDs are accepted.',
} as const;

/** A close reason must fit a control frame: 123 bytes (RFC 6455 §5.5). */
export function closeReason(message: string): string {
  const bytes = Buffer.from(message, 'utf8');
  if (bytes.length <= 123) return message;
  return bytes.subarray(0, 123).toString('utf8').replace(/\uFFFD$/, '');
}
