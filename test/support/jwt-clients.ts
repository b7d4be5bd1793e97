// JWT clients on the Pusher protocol (docs/PROTOCOL.md §14.2): key pairs and a JWKS server to
// verify against, raw subscribes answered by success or subscription_error, and stock pusher-js
// whose custom handlers hand out tokens.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, type JWK, type KeyLike } from 'jose';
import PusherModule, { type Options } from 'pusher-js';
import { localSocketOptions } from './cluster.js';
import type { Frame, RawClient } from './in-process.js';

const Pusher = PusherModule as unknown as typeof PusherModule.default;
type Pusher = InstanceType<typeof Pusher>;

export interface KeyPair {
  privateKey: KeyLike;
  publicPem: string;
  /** The public key as a JWK with `kid` and `alg`, for a JWKS. */
  jwk: JWK;
}

export async function keyPair(alg: 'RS256' | 'ES256' | 'EdDSA', kid = `${alg}-${Math.random().toString(36).slice(2, 8)}`): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateKey, publicPem: await exportSPKI(publicKey), jwk: { ...(await exportJWK(publicKey)), kid, alg } };
}

/** A JWKS served over http whose keys a test replaces (rotation); counts the fetches. */
export class JwksServer {
  keys: JWK[] = [];
  fetches = 0;
  private constructor(private readonly server: Server) {}

  static async start(keys: JWK[]): Promise<JwksServer> {
    const holder: { jwks?: JwksServer } = {};
    const server = createServer((_request, response) => {
      holder.jwks!.fetches += 1;
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: holder.jwks!.keys }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    holder.jwks = new JwksServer(server);
    holder.jwks.keys = keys;
    return holder.jwks;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/jwks.json`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Subscribes a raw socket and resolves with subscription_succeeded or subscription_error. */
export function subscribeRaw(client: RawClient, channel: string, auth?: string, channelData?: string): Promise<Frame> {
  client.send({ event: 'pusher:subscribe', data: { channel, auth, channel_data: channelData } });
  return client.next((f) => f.channel === channel && (f.event === 'pusher_internal:subscription_succeeded' || f.event === 'pusher:subscription_error'));
}

/** What a subscription_error carries (§14.4: 401 for a bad token, 403 for a denial). */
export function refusal(frame: Frame): { status: number; error: string } | undefined {
  if (frame.event !== 'pusher:subscription_error') return undefined;
  const data = JSON.parse(frame.data as string) as { status: number; error: string };
  return { status: data.status, error: data.error };
}

export interface TokenSource {
  /** The token for one channel's subscription ('' to rely on the signed-in principal). */
  channel?: (channelName: string) => Promise<string>;
  /** The token pusher.signin() sends. */
  user?: () => Promise<string>;
}

/** Stock pusher-js, WebSocket only, whose custom handlers hand out JWTs as an app's backend would. */
export function jwtPusher(port: number, appKey: string, tokens: TokenSource): Pusher {
  const options: Options = {
    ...localSocketOptions(port),
    channelAuthorization: {
      customHandler: ({ channelName }, callback) => {
        (tokens.channel ?? (() => Promise.resolve('')))(channelName).then((auth) => callback(null, { auth }), (error: Error) => callback(error, null));
      },
    },
    userAuthentication: {
      customHandler: (_params, callback) => {
        (tokens.user ?? (() => Promise.resolve('')))().then((auth) => callback(null, { auth, user_data: '' }), (error: Error) => callback(error, null));
      },
    },
  };
  const pusher = new Pusher(appKey, options);
  pusher.connection.bind('error', () => undefined);
  return pusher;
}
