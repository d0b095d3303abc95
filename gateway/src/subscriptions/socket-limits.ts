/**
 * WebSocket limits of the gateway and the close codes that refuse them. graphql-ws uses
 * 4400, 4401, 4403, 4406, 4408, 4409, 4429, 4500, 4504 (and 4004, 4005 on the client).
 */
export interface WebSocketLimits {
  /** Largest message accepted; a larger one closes the socket with 1009. */
  maxPayloadBytes: number;
  maxSocketsPerIdentity: number;
  maxSocketsPerIp: number;
  maxSubscriptionsPerSocket: number;
}

export const defaultWebSocketLimits: WebSocketLimits = {
  maxPayloadBytes: 64 * 1024,
  maxSocketsPerIdentity: 5,
  maxSocketsPerIp: 50,
  maxSubscriptionsPerSocket: 10,
};

export const WebSocketCloseCode = {
  /** RFC 6455 "message too big": closed by `ws` itself when a frame exceeds `maxPayloadBytes`. */
  MessageTooBig: 1009,
  /** graphql-ws's Forbidden, also used when the socket's token expires. */
  Forbidden: 4403,
  /** Too many open sockets for the caller's IP (at open) or identity (at `connection_init`). */
  TooManySockets: 4430,
  /**
   * RFC 6455 "try again later": the token could not be checked (its key set is unreachable), or
   * the address spent its burst of invalid tokens. Reconnect after a pause.
   */
  TryAgainLater: 1013,
} as const;

/** The error code of a `subscribe` refused because its socket has as many as allowed. */
export const SUBSCRIPTION_LIMIT_EXCEEDED = 'SUBSCRIPTION_LIMIT_EXCEEDED';

/**
 * Open sockets counted per key (an IP, an identity), each key capped. A socket is counted by
 * `tryAdd` and must be released exactly once, when it closes.
 * @example if (!perIp.tryAdd(ip)) socket.close(WebSocketCloseCode.TooManySockets, 'Too many sockets'); else socket.once('close', () => perIp.release(ip));
 */
export class SocketCounts {
  readonly #counts = new Map<string, number>();

  constructor(readonly max: number) {}

  /** Counts one more socket under `key`; false (nothing counted) when `max` are open already. */
  tryAdd(key: string): boolean {
    const count = this.#counts.get(key) ?? 0;
    if (count >= this.max) return false;
    this.#counts.set(key, count + 1);
    return true;
  }

  release(key: string): void {
    const count = this.#counts.get(key) ?? 0;
    if (count <= 1) this.#counts.delete(key);
    else this.#counts.set(key, count - 1);
  }

  count(key: string): number {
    return this.#counts.get(key) ?? 0;
  }

  /** Keys with at least one socket (memory stays bounded by the sockets open). */
  get size(): number {
    return this.#counts.size;
  }
}

/**
 * When a (verified) JWT expires, in epoch milliseconds; undefined without a numeric `exp`.
 * The token must have been verified before: this only reads its payload.
 */
export function tokenExpiresAtMs(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
