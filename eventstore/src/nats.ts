/**
 * The one place the NATS client is wrapped. Everything else imports from here, so the client
 * (the modular `@nats-io/*` v3 packages) can change in one file.
 */
import { jetstream, jetstreamManager, JetStreamApiError, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { inboxPrefixFor } from './nats-inbox.ts';

export { headers, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
export {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type StoredMsg,
  type StreamInfo,
} from '@nats-io/jetstream';

export interface Nats {
  connection: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  close(): Promise<void>;
}

/**
 * Connects with unlimited reconnects, so a restarted nats-server is picked up again; `url` may
 * list a cluster's servers, comma-separated (the client tries them in turn). User and
 * password may ride in the URL (`nats://user:password@host:4222`; the client would ignore them
 * there, so they are passed as its credentials). By default it asks JetStream for the account
 * info at once (a missing JetStream fails here); `coreOnly` skips that, for a user that may
 * publish nothing (the gateway only hears notices: see `nats-permissions.ts`).
 * @example const nats = await connectNats(config.natsUrl, 'projector');
 */
export async function connectNats(url: string, name: string, { coreOnly = false }: { coreOnly?: boolean } = {}): Promise<Nats> {
  const servers = natsServerOptions(url);
  const inboxPrefix = inboxPrefixFor(servers.user);
  const connection = await connect({ ...servers, ...(inboxPrefix === undefined ? {} : { inboxPrefix }), name, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  const jsm = await jetstreamManager(connection, { checkAPI: !coreOnly });
  const js = jetstream(connection);
  return {
    connection,
    js,
    jsm,
    async close() {
      if (!connection.isClosed()) await connection.drain().catch(() => connection.close());
    },
  };
}

/**
 * The servers of a NATS URL: one URL, or a cluster's list separated by commas (whitespace
 * around each is dropped).
 * @example natsUrls('nats://a:4222, nats://b:4222') // ['nats://a:4222', 'nats://b:4222']
 */
export function natsUrls(url: string): string[] {
  return url
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

/**
 * `servers` without credentials (every server of a list), plus `user` / `pass` when the URLs
 * carry them (the first that does: a list names one user).
 */
export function natsServerOptions(url: string): { servers: string[]; user?: string; pass?: string } {
  let credentials: { user: string; pass: string } | undefined;
  const servers = natsUrls(url).map((entry) => {
    const parsed = URL.canParse(entry) ? new URL(entry) : undefined;
    if (!parsed?.username) return entry;
    credentials ??= { user: decodeURIComponent(parsed.username), pass: decodeURIComponent(parsed.password) };
    parsed.username = '';
    parsed.password = '';
    return parsed.toString().replace(/\/$/, '');
  });
  return { servers, ...credentials };
}

/** What the NATS client throws when the server does not answer (by name: the classes are not all exported). */
const UNAVAILABLE = new Set(['TimeoutError', 'NoResponders', 'ClosedConnectionError', 'DrainingConnectionError', 'ConnectionError', 'JetStreamNotEnabled']);

/**
 * NATS did not answer: a request timed out, nobody answered (JetStream unreachable), or the
 * connection is closed or draining. A client may retry; nothing says the work was refused.
 */
export function isUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 4; current = current.cause, depth++) {
    if (UNAVAILABLE.has(current.name)) return true;
    // "JetStream system temporarily unavailable" (503): a cluster electing a stream's leader.
    if (current instanceof JetStreamApiError && current.status === 503) return true;
  }
  return false;
}
