import type { ApolloServer } from '@apollo/server';
import type { Actor } from '@happyride/domain';
import { isValidId } from '@happyride/domain';
import { dispatchOfferSubject, onNatsReconnect, tripUpdatedSubject, type Nats } from '@happyride/eventstore';
import type { Logger } from '@happyride/platform';
import {
  extendSchema,
  getOperationAST,
  GraphQLError,
  Kind,
  parse,
  print,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValidationRule,
} from 'graphql';
import { handleProtocols, type Context as GraphQLWsContext } from 'graphql-ws';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import type { GatewayContext } from '../context.ts';
import { checkOperationCost, type OperationLimits } from '../plugins/operation-limits.ts';
import type { TokenAdmission } from '../plugins/token-admission.ts';
import { OFFER_TRIP_VARIABLE, oneOfferQuery, subscriptionAsQuery, subscriptionQueries } from './as-query.ts';
import { CheckedDocuments } from './checked-documents.ts';
import { connectionToken } from './connection-token.ts';
import { feedVariables } from './feed-variables.ts';
import { serveGraphQLWs, type Extra } from './graphql-ws-transport.ts';
import { LiveFeeds, type Followed, type OfferQueries } from './live-feeds.ts';
import { NoticeRouter } from './notice-router.ts';
import { noticedOffer, offerPayloadFromNotice, typesOnly } from './offer-payload.ts';
import { ExpiryQueue } from './expiry-queue.ts';
import { KeepAlive } from './keep-alive.ts';
import {
  defaultWebSocketLimits,
  SocketCounts,
  SUBSCRIPTION_LIMIT_EXCEEDED,
  tokenExpiresAtMs,
  WebSocketCloseCode,
  type WebSocketLimits,
} from './socket-limits.ts';

const subscriptionTypeDefs = parse(readFileSync(new URL('./subscriptions.graphql', import.meta.url), 'utf8'));

export interface SubscriptionServerOptions {
  httpServer: Server;
  /** The gateway's own server: every payload is fetched through it, limits and all. */
  apollo: ApolloServer<GatewayContext>;
  /** The gateway's current API schema (follows supergraph updates). */
  apiSchema: () => GraphQLSchema | undefined;
  nats: Nats;
  logger: Logger;
  validationRules: readonly ValidationRule[];
  /** Checked again with the subscription's variables, as on HTTP. */
  operationLimits: OperationLimits;
  /** Refuses a subscription for the caller's rate limit: the retry hint in seconds, or null. */
  rateLimited: (actor: Actor) => number | null;
  /** The client's address from the upgrade request (the peer, or X-Forwarded-For behind TRUSTED_PROXIES). */
  clientIp?: (request: IncomingMessage) => string;
  /**
   * Admits a `connection_init` token as on HTTP (`token-admission.ts`): a remembered token
   * on a lookup, any other through its address's failed-token budget.
   */
  admitToken: TokenAdmission;
  connectionInitWaitTimeoutMs: number;
  limits?: Partial<WebSocketLimits>;
  /** Waits between attempts of a live read that fails (tests shorten them). */
  retryDelaysMs?: readonly number[];
}

/**
 * What the gateway keeps per socket, in one object (no closure or timer per socket): its
 * address, and once acknowledged who it is and when its token expires.
 */
interface SocketState {
  ip: string;
  /** `role:id`, counted in `perIdentity` while the socket is open. */
  identity?: string;
  actor?: Actor;
  authorization?: string;
  expiresAtMs?: number;
}

/** graphql-ws's keep-alive period, done by `KeepAlive` for all sockets. */
const KEEP_ALIVE_MS = 12_000;

/** What one payload read needs: the query (printed once per document) and who asks. */
interface ReadContext {
  /** Who asks; each read gets a correlation id of its own (one kept per subscription would be a string tree of ~0.5 KB per idle socket). */
  gatewayContext: Omit<GatewayContext, 'correlationId'>;
  query: string;
  variables: Record<string, unknown> | undefined;
  operationName: string | undefined;
}

/** A subscription document as every subscriber sending its text shares it (`CheckedDocuments`). */
interface PreparedSubscription {
  /** Tells documents apart in feed keys. */
  id: number;
  /** Its operation (whose variable definitions say which variables it uses). */
  operation: OperationDefinitionNode;
  root: FieldNode;
  /** The query of its payload through the graph, printed. */
  query: string;
  /** `dispatchOffers` only: how its offers are read, and pushed from notices. */
  offers?: OfferQueries<ReadContext>;
}

/** A document's parse and validation errors, or it and its subscription (or why it is none). */
type CheckedDocument = { errors: readonly GraphQLError[] } | { document: DocumentNode; subscription: PreparedSubscription | readonly GraphQLError[] };

type WsContext = GraphQLWsContext<Record<string, unknown> | undefined, Extra>;

/**
 * Subscriptions on `/graphql` over graphql-ws. `@apollo/gateway` executes none, so the gateway
 * serves them itself: the schema is the supergraph's API schema plus `Subscription`; each
 * payload is the answer of the matching query through the federated graph (so any field of
 * any subgraph can be selected, and the same authorization applies), re-read whenever a
 * read-model change notice arrives on NATS, once per notice for all identical subscriptions
 * (`live-feeds.ts`); an offer notice that carries every field a driver selected is pushed as it
 * is, to that driver only (`offer-payload.ts`). graphql-ws's close codes apply: 4408 without `connection_init` in time,
 * 4403 for a missing or bad token and when the token expires, 4401, 4409, 4429; and ours:
 * 1009 for a message over `maxPayloadBytes`, 4430 for too many sockets (per IP, per identity).
 * A `subscribe` that cannot be served gets an `error` message with a code; the socket stays.
 */
export function startSubscriptionServer(options: SubscriptionServerOptions) {
  const { logger } = options;
  const limits: WebSocketLimits = { ...defaultWebSocketLimits, ...options.limits };
  const sockets = new WeakMap<WebSocket, SocketState>();
  const perIp = new SocketCounts(limits.maxSocketsPerIp);
  const perIdentity = new SocketCounts(limits.maxSocketsPerIdentity);
  let cached: { api: GraphQLSchema; schema: GraphQLSchema } | undefined;
  /** A `dispatchOffers` document has been prepared: offers are pushed from notices (see `typesOnly`). */
  let offersPrepared = false;
  const schema = (): GraphQLSchema => {
    const api = options.apiSchema();
    if (!api) throw new GraphQLError('The gateway has not loaded its supergraph yet.', { extensions: { code: 'SERVICE_UNAVAILABLE' } });
    if (cached?.api !== api) {
      const extended = extendSchema(api, subscriptionTypeDefs);
      cached = { api, schema: extended };
      // A new supergraph: its offers are pushed from notices through a schema of its own, built now rather than on the next offer's way.
      if (offersPrepared) setImmediate(() => typesOnly(extended));
    }
    return cached.schema;
  };

  const fetchPayload = async (context: ReadContext): Promise<ExecutionResult> => {
    const response = await options.apollo.executeOperation(
      { query: context.query, variables: context.variables, operationName: context.operationName },
      { contextValue: { ...context.gatewayContext, correlationId: randomUUID() } },
    );
    if (response.body.kind !== 'single') throw new Error('unexpected incremental response');
    return response.body.singleResult as ExecutionResult;
  };

  // One NATS subscription per notice kind for the process, routed to the feeds in memory.
  const notices = new NoticeRouter(options.nats, [tripUpdatedSubject('*'), dispatchOfferSubject('*')]);
  const documents = new CheckedDocuments<CheckedDocument>();
  let preparedCount = 0;
  const feeds = new LiveFeeds<ReadContext>({
    source: notices,
    read: fetchPayload,
    logger,
    ...(options.retryDelaysMs ? { retryDelaysMs: options.retryDelaysMs } : {}),
  });
  // Re-read once nats-server has the subscriptions again (the client re-sends them on reconnect).
  const stopWatchingReconnects = onNatsReconnect(options.nats, () => {
    options.nats.connection.flush().then(
      () => feeds.refreshAll(),
      () => feeds.refreshAll(),
    );
  });

  const webSocketServer = new WebSocketServer({ server: options.httpServer, path: '/graphql', maxPayload: limits.maxPayloadBytes, handleProtocols });
  const ipOf = options.clientIp ?? ((request: IncomingMessage) => request.socket.remoteAddress ?? 'unknown');
  // Closes a socket with 4403 when its token expires (the client reconnects with a fresh one).
  const expiring = new ExpiryQueue<WebSocket>((socket) => socket.close(WebSocketCloseCode.Forbidden, 'Token expired'));
  const keepAlive = new KeepAlive({ periodMs: KEEP_ALIVE_MS });
  // One listener shared by every socket (`this` is the socket).
  function onClose(this: WebSocket): void {
    const state = sockets.get(this);
    if (!state) return;
    sockets.delete(this);
    perIp.release(state.ip);
    keepAlive.delete(this);
    if (state.identity !== undefined) perIdentity.release(state.identity);
    if (state.expiresAtMs !== undefined) expiring.delete(this, state.expiresAtMs);
  }
  webSocketServer.on('connection', (socket, request) => limitPerIp(socket, ipOf(request)));

  /** At most `maxSocketsPerIp` sockets per peer address (counted from the upgrade). */
  function limitPerIp(socket: WebSocket, ip: string): void {
    if (!perIp.tryAdd(ip)) {
      logger.info({ ip, max: perIp.max }, 'websocket refused: too many sockets from this address');
      socket.close(WebSocketCloseCode.TooManySockets, 'Too many sockets from this address');
      return;
    }
    sockets.set(socket, { ip });
    socket.on('close', onClose);
    keepAlive.add(socket);
  }

  /** At most `maxSocketsPerIdentity` acknowledged sockets per identity; false when refused. */
  function limitPerIdentity(socket: WebSocket, state: SocketState, actor: Actor): boolean {
    const key = `${actor.role}:${actor.id}`;
    if (socket.readyState !== socket.OPEN) return false; // closed while the token was verified
    if (!perIdentity.tryAdd(key)) {
      logger.info({ actor: key, max: perIdentity.max }, 'websocket refused: too many sockets for this identity');
      socket.close(WebSocketCloseCode.TooManySockets, 'Too many sockets for this identity');
      return false;
    }
    state.identity = key;
    return true;
  }

  async function connect(ctx: WsContext): Promise<boolean> {
    // Another scheme, a malformed bearer, or no string at all: 4403 like a bad token, never a throw (4500).
    const token = connectionToken(ctx.connectionParams);
    if (!token) return false;
    const { socket } = ctx.extra;
    const state = sockets.get(socket);
    if (!state) return false; // refused at the upgrade (too many from its address)
    const admission = await options.admitToken(token, state.ip);
    switch (admission.kind) {
      case 'verified':
        break;
      case 'invalid':
        return false; // → 4403 Forbidden
      case 'flooding':
        // The address spent its failed-token budget and this token failed too, as HTTP's 429.
        socket.close(WebSocketCloseCode.TryAgainLater, 'Too many invalid tokens from this address');
        return false;
      case 'unavailable':
        // Not the caller's fault: a retryable close, never the 4403 of a bad token.
        logger.warn({ err: admission.error.message }, 'websocket refused: the token key set is unavailable');
        socket.close(WebSocketCloseCode.TryAgainLater, 'The token key set is unavailable: try again shortly');
        return false;
      default: {
        const unreachable: never = admission;
        throw new Error(`unknown admission ${JSON.stringify(unreachable)}`);
      }
    }
    const { actor } = admission;
    if (!limitPerIdentity(socket, state, actor)) return false; // closed with 4430 already (the 4403 that follows is ignored)
    state.actor = actor;
    state.authorization = `Bearer ${token}`;
    state.expiresAtMs = tokenExpiresAtMs(token);
    if (state.expiresAtMs !== undefined) expiring.add(socket, state.expiresAtMs);
    return true;
  }

  /** Parses and validates a `subscribe` document (once per text: `documents`). */
  function checkDocument(query: string, operationName: string | undefined): CheckedDocument {
    let document: DocumentNode;
    try {
      document = parse(query, { maxTokens: options.operationLimits.maxTokens });
    } catch (error) {
      return { errors: [withCode('GRAPHQL_PARSE_FAILED')(error instanceof GraphQLError ? error : new GraphQLError(String(error)))] };
    }
    let errors: readonly GraphQLError[];
    try {
      errors = validate(schema(), document, [...specifiedRules, ...options.validationRules]);
    } catch (error) {
      // graphql's single-root-field rule evaluates root directives without the variables, and throws on `@include(if: $c)`.
      if (error instanceof GraphQLError) return { errors: [new GraphQLError(`${error.message} (a subscription's root takes no directives)`, { extensions: { code: 'BAD_USER_INPUT' } })] };
      throw error;
    }
    if (errors.length > 0) return { errors: errors.map(withCode('GRAPHQL_VALIDATION_FAILED')) };
    const operation = getOperationAST(document, operationName);
    if (!operation || operation.operation !== 'subscription') {
      return { document, subscription: [new GraphQLError('Only subscriptions go over WebSocket: send queries and mutations with HTTP POST.', { extensions: { code: 'BAD_REQUEST' } })] };
    }
    try {
      return { document, subscription: prepare(document, operation, operationName) };
    } catch (error) {
      if (error instanceof GraphQLError && error.extensions['code']) return { document, subscription: [error] };
      throw error;
    }
  }

  /** The query of a subscription's payload, and for `dispatchOffers` how its offers are read and pushed. */
  function prepare(document: DocumentNode, operation: OperationDefinitionNode, operationName: string | undefined): PreparedSubscription {
    const { document: query, responseKey } = subscriptionAsQuery(document, operation);
    const root = operation.selectionSet.selections[0] as FieldNode;
    const prepared: PreparedSubscription = { id: ++preparedCount, operation, root, query: print(query) };
    if (root.name.value !== 'dispatchOffers') return prepared;
    offersPrepared = true;
    typesOnly(schema()); // built while subscribing, not on the first offer's way
    const oneOfferDocument = oneOfferQuery(query);
    const oneOffer = print(oneOfferDocument);
    const offerOf = (result: ExecutionResult) => (result.data?.[responseKey] == null ? null : result);
    // Only the open offers' trip ids: each is then read as one offer (priced as one). The list
    // with the subscriber's whole selection would be priced at the list's cap, every item with
    // its entity hops, and refused over the cost limit (`passenger { name }`: 100 hops).
    const openOffers = `query { ${responseKey}: ${subscriptionQueries.dispatchOffers!.queryField} { tripId } }`;
    prepared.offers = {
      list: (c) => ({ ...c, query: openOffers, variables: undefined, operationName: undefined }),
      one: (c, tripId) => ({ ...c, query: oneOffer, variables: { ...c.variables, [OFFER_TRIP_VARIABLE]: tripId } }),
      tripIdsOf: (result) =>
        ((result.data?.[responseKey] ?? []) as Array<{ tripId?: unknown } | null>).flatMap((offer) => (typeof offer?.tripId === 'string' ? [offer.tripId] : [])),
      offerOf,
      // The driver's own offer only (the notice's subject is theirs, and so must its offer be).
      fromNotice: (c, notice) => {
        const offer = noticedOffer(notice, c.gatewayContext.actor!.id);
        const api = offer && cached?.schema;
        if (!offer || !api) return null;
        const variables = { ...c.variables, [OFFER_TRIP_VARIABLE]: offer['tripId'] };
        const result = offerPayloadFromNotice(api, oneOfferDocument, { variables, operationName, offer });
        return result && offerOf(result);
      },
    };
    return prepared;
  }

  async function subscribe(ctx: WsContext, payload: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null }) {
    const connection = sockets.get(ctx.extra.socket);
    if (!connection?.actor || connection.authorization === undefined) return [new GraphQLError('Not authenticated.', { extensions: { code: 'UNAUTHENTICATED' } })];
    // graphql-ws lists this operation already (ids of the socket's operations still running).
    if (Object.keys(ctx.subscriptions).length > limits.maxSubscriptionsPerSocket) {
      return [new GraphQLError(`At most ${limits.maxSubscriptionsPerSocket} subscriptions per socket.`, { extensions: { code: SUBSCRIPTION_LIMIT_EXCEEDED, max: limits.maxSubscriptionsPerSocket } })];
    }
    const retryAfter = options.rateLimited(connection.actor);
    if (retryAfter !== null) {
      return [new GraphQLError(`Too many requests: try again in ${retryAfter} s.`, { extensions: { code: 'RATE_LIMITED', retryAfterSeconds: retryAfter } })];
    }
    const operationName = payload.operationName ?? undefined;
    const checked = documents.get(schema(), `${operationName ?? ''}\n${payload.query}`, () => checkDocument(payload.query, operationName));
    if ('errors' in checked) return checked.errors;
    if (Array.isArray(checked.subscription)) return checked.subscription;
    const prepared = checked.subscription as PreparedSubscription;
    // Only the variables the operation uses, coerced: junk beside them neither reaches a read nor splits the feed.
    const used = feedVariables(schema(), prepared.operation, payload.variables);
    if ('errors' in used) return used.errors;
    const { variables } = used;
    const overLimits = checkOperationCost(checked.document, variables, options.operationLimits, { schema: schema(), operationName });
    if (overLimits.length > 0) return overLimits;
    if (prepared.offers && connection.actor.role !== 'driver') {
      return [new GraphQLError('dispatchOffers is for drivers: sign in with the driver role.', { extensions: { code: 'FORBIDDEN' } })];
    }
    const context: ReadContext = {
      gatewayContext: { actor: connection.actor, authorization: connection.authorization },
      query: prepared.query,
      variables,
      operationName,
    };
    const identity = `${connection.actor.role}:${connection.actor.id}`;
    const subject = prepared.offers ? dispatchOfferSubject(connection.actor.id) : subjectOf(prepared.root, used.coerced);
    // Subscriptions with the same key share one live feed: same subject, document, used variables and identity.
    const key = JSON.stringify([subject, prepared.id, operationName ?? null, used.key, identity]);
    const followed = prepared.offers ? await feeds.followOffers(key, subject, context, prepared.offers) : await feeds.followQuery(key, subject, context);
    // Not allowed, or nothing there: an `error` message, and the socket stays open.
    if (followed.first.errors?.length) return followed.first.errors.map((e) => new GraphQLError(e.message, { extensions: e.extensions ?? {} }));
    return { schema: schema(), document: checked.document, operationName, variableValues: variables, contextValue: followed };
  }

  const server = serveGraphQLWs<Record<string, unknown> | undefined>(
    {
      connectionInitWaitTimeout: options.connectionInitWaitTimeoutMs,
      onConnect: connect,
      onSubscribe: async (ctx, _id, payload) => {
        try {
          return await subscribe(ctx, payload);
        } catch (error) {
          // A malformed subscription or a gateway not ready: an `error` message, never 4500.
          if (error instanceof GraphQLError && error.extensions['code']) return [error];
          logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'subscription could not be started');
          return [new GraphQLError('The subscription could not be started: try again.', { extensions: { code: 'SERVICE_UNAVAILABLE' } })];
        }
      },
      subscribe: (args) => (args.contextValue as Followed).updates,
      // A live read that failed for good ends the operation with its code (graphql-ws would drop it).
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => (e.originalError instanceof GraphQLError ? e.originalError : e).toJSON()),
    },
    webSocketServer,
    logger,
  );

  return {
    /** Open sockets, subscriptions followed now, and the reads made for them (for `/metrics`). */
    stats: () => ({ connections: webSocketServer.clients.size, subscriptions: feeds.subscribers, reads: feeds.reads }),
    /** Closes every socket (1001, going away) and the WebSocket server. */
    async stop() {
      stopWatchingReconnects();
      notices.stop();
      keepAlive.stop();
      expiring.stop();
      server.dispose();
      await new Promise<void>((resolve) => webSocketServer.close(() => resolve()));
    },
  };
}

const withCode = (code: string) => (error: GraphQLError) =>
  error.extensions['code'] ? error : new GraphQLError(error.message, { nodes: error.nodes ?? null, extensions: { ...error.extensions, code } });

/** The NATS subject whose notices mean the subscription's payload may have changed. */
function subjectOf(root: FieldNode, variables: Record<string, unknown> | undefined): string {
  const argument = root.arguments?.find((a) => a.name.value === 'tripId');
  const value = argument?.value.kind === Kind.VARIABLE ? variables?.[argument.value.name.value] : argument?.value.kind === Kind.STRING ? argument.value.value : undefined;
  if (root.name.value !== 'tripUpdates' || typeof value !== 'string' || !isValidId(value)) {
    throw new GraphQLError('tripUpdates needs a valid tripId.', { extensions: { code: 'BAD_USER_INPUT' } });
  }
  return tripUpdatedSubject(value);
}

