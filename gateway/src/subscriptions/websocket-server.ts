import type { ApolloServer } from '@apollo/server';
import type { Actor } from '@happyride/domain';
import { isValidId } from '@happyride/domain';
import { dispatchOfferSubject, listen, tripUpdatedSubject, type DispatchOfferNotice, type Nats } from '@happyride/eventstore';
import { bearerToken, type Logger, type TokenVerifier } from '@happyride/platform';
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
  type ValidationRule,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { WebSocketServer } from 'ws';
import type { GatewayContext } from '../context.ts';
import { checkOperationCost, type OperationLimits } from '../plugins/operation-limits.ts';
import { OFFER_TRIP_VARIABLE, oneOfferQuery, subscriptionAsQuery } from './as-query.ts';

const subscriptionTypeDefs = parse(readFileSync(new URL('./subscriptions.graphql', import.meta.url), 'utf8'));

export interface SubscriptionServerOptions {
  httpServer: Server;
  /** The gateway's own server: every payload is fetched through it, limits and all. */
  apollo: ApolloServer<GatewayContext>;
  /** The gateway's current API schema (follows supergraph updates). */
  apiSchema: () => GraphQLSchema | undefined;
  verify: TokenVerifier;
  nats: Nats;
  logger: Logger;
  validationRules: readonly ValidationRule[];
  /** Checked again with the subscription's variables, as on HTTP. */
  operationLimits: OperationLimits;
  /** Refuses a subscription for the caller's rate limit: the retry hint in seconds, or null. */
  rateLimited: (actor: Actor) => number | null;
  connectionInitWaitTimeoutMs: number;
}

interface Connection {
  actor?: Actor;
  authorization?: string;
}

interface SubscriptionContext {
  gatewayContext: GatewayContext;
  query: DocumentNode;
  variables: Record<string, unknown> | undefined;
  operationName: string | undefined;
  responseKey: string;
  subject: string;
  first: ExecutionResult;
  /** dispatchOffers: the query of one offer, re-run for each notice. */
  oneOffer?: DocumentNode;
}

/**
 * Subscriptions on `/graphql` over graphql-ws. `@apollo/gateway` executes none, so the gateway
 * serves them itself: the schema is the supergraph's API schema plus `Subscription`; each
 * payload is the answer of the matching query through the federated graph (so any field of
 * any subgraph can be selected, and the same authorization applies), re-fetched whenever a
 * read-model change notice arrives on NATS. graphql-ws's close codes apply: 4408 without
 * `connection_init` in time, 4403 for a missing or bad token, 4401, 4409, 4429.
 */
export function startSubscriptionServer(options: SubscriptionServerOptions) {
  const { logger } = options;
  const connections = new WeakMap<object, Connection>();
  let active = 0;
  let cached: { api: GraphQLSchema; schema: GraphQLSchema } | undefined;
  const schema = (): GraphQLSchema => {
    const api = options.apiSchema();
    if (!api) throw new GraphQLError('The gateway has not loaded its supergraph yet.', { extensions: { code: 'SERVICE_UNAVAILABLE' } });
    if (cached?.api !== api) cached = { api, schema: extendSchema(api, subscriptionTypeDefs) };
    return cached.schema;
  };

  const fetchPayload = async (context: Omit<SubscriptionContext, 'first'>): Promise<ExecutionResult> => {
    const response = await options.apollo.executeOperation(
      { query: print(context.query), variables: context.variables, operationName: context.operationName },
      { contextValue: { ...context.gatewayContext, correlationId: randomUUID() } },
    );
    if (response.body.kind !== 'single') throw new Error('unexpected incremental response');
    return response.body.singleResult as ExecutionResult;
  };

  const webSocketServer = new WebSocketServer({ server: options.httpServer, path: '/graphql' });
  const server = useServer<Record<string, unknown> | undefined>(
    {
      connectionInitWaitTimeout: options.connectionInitWaitTimeoutMs,
      onConnect: async (ctx) => {
        const header = ctx.connectionParams?.authorization;
        try {
          const token = bearerToken(typeof header === 'string' ? header : undefined);
          if (!token) return false;
          connections.set(ctx, { actor: await options.verify(token), authorization: header as string });
          return true;
        } catch {
          return false; // → 4403 Forbidden
        }
      },
      onSubscribe: async (ctx, _id, payload) => {
        const connection = connections.get(ctx);
        if (!connection?.actor) return [new GraphQLError('Not authenticated.', { extensions: { code: 'UNAUTHENTICATED' } })];
        const retryAfter = options.rateLimited(connection.actor);
        if (retryAfter !== null) {
          return [new GraphQLError(`Too many requests: try again in ${retryAfter} s.`, { extensions: { code: 'RATE_LIMITED', retryAfterSeconds: retryAfter } })];
        }
        let document: DocumentNode;
        try {
          document = parse(payload.query, { maxTokens: 1000 });
        } catch (error) {
          return [withCode(error instanceof GraphQLError ? error : new GraphQLError(String(error)), 'GRAPHQL_PARSE_FAILED')];
        }
        const errors = validate(schema(), document, [...specifiedRules, ...options.validationRules]);
        if (errors.length > 0) return errors.map((error) => withCode(error, 'GRAPHQL_VALIDATION_FAILED'));
        const overLimits = checkOperationCost(document, payload.variables ?? {}, options.operationLimits, { schema: schema(), operationName: payload.operationName });
        if (overLimits.length > 0) return overLimits;
        const operation = getOperationAST(document, payload.operationName);
        if (!operation || operation.operation !== 'subscription') {
          return [new GraphQLError('Only subscriptions go over WebSocket: send queries and mutations with HTTP POST.', { extensions: { code: 'BAD_REQUEST' } })];
        }
        const { document: query, responseKey } = subscriptionAsQuery(document, operation);
        const variables = payload.variables ?? undefined;
        const root = operation.selectionSet.selections[0] as FieldNode;
        const offers = root.name.value === 'dispatchOffers';
        if (offers && connection.actor.role !== 'driver') {
          return [new GraphQLError('dispatchOffers is for drivers: sign in with the driver role.', { extensions: { code: 'FORBIDDEN' } })];
        }
        let subject: string;
        try {
          subject = offers ? dispatchOfferSubject(connection.actor.id) : subjectOf(root, variables);
        } catch (error) {
          // A bad tripId: an `error` message, not 4500 (the websocket branch reworks this).
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        const context = {
          ...(offers ? { oneOffer: oneOfferQuery(query) } : {}),
          gatewayContext: { actor: connection.actor, authorization: connection.authorization!, correlationId: randomUUID() },
          query,
          variables,
          operationName: payload.operationName ?? undefined,
          responseKey,
          subject,
        };
        const first = await fetchPayload(context);
        // Not allowed, or nothing there: an `error` message, and the socket stays open.
        if (first.errors?.length) return first.errors.map((e) => new GraphQLError(e.message, { extensions: e.extensions ?? {} }));
        const contextValue: SubscriptionContext = { ...context, first };
        return { schema: schema(), document, operationName: payload.operationName, variableValues: variables, contextValue };
      },
      subscribe: (args) => follow(args.contextValue as SubscriptionContext),
    },
    webSocketServer,
  );

  /**
   * dispatchOffers: listens first, then yields every open offer, then each offer named by a
   * notice as it is now (an offer may come twice around the start; never missed).
   */
  async function* followOffers(context: SubscriptionContext, oneOffer: DocumentNode): AsyncGenerator<ExecutionResult> {
    const notices = listen<DispatchOfferNotice>(options.nats, context.subject);
    try {
      const open = await fetchPayload(context);
      const list = (open.data?.[context.responseKey] ?? []) as unknown[];
      for (const offer of list) yield { data: { [context.responseKey]: offer } };
      for await (const notice of notices) {
        const next = await fetchPayload({ ...context, query: oneOffer, variables: { ...context.variables, [OFFER_TRIP_VARIABLE]: notice.tripId } });
        if (next.errors?.length || next.data?.[context.responseKey] == null) continue;
        yield next;
      }
    } finally {
      await notices.return?.();
      logger.debug({ subject: context.subject }, 'subscription ended');
    }
  }

  async function* follow(context: SubscriptionContext): AsyncGenerator<ExecutionResult> {
    if (context.oneOffer) {
      yield* followOffers(context, context.oneOffer);
      return;
    }
    const notices = listen<{ version: number }>(options.nats, context.subject);
    active++;
    try {
      let last = JSON.stringify(context.first);
      yield context.first;
      for await (const _notice of notices) {
        const next = await fetchPayload(context);
        const serialized = JSON.stringify(next);
        if (serialized === last) continue;
        last = serialized;
        yield next;
      }
    } finally {
      active--;
      await notices.return?.();
      logger.debug({ subject: context.subject }, 'subscription ended');
    }
  }

  return {
    /** Open sockets and the subscriptions being followed now (for `/metrics`). */
    stats: () => ({ connections: webSocketServer.clients.size, subscriptions: active }),
    /** Closes every socket (1001, going away) and the WebSocket server. */
    async stop() {
      await server.dispose();
      await new Promise<void>((resolve) => webSocketServer.close(() => resolve()));
    },
  };
}

/** Every error a client sees carries a code, as on HTTP (graphql's own parse and validation errors have none). */
const withCode = (error: GraphQLError, code: string): GraphQLError =>
  error.extensions.code ? error : new GraphQLError(error.message, { nodes: error.nodes ?? null, extensions: { ...error.extensions, code } });

/** The NATS subject whose notices mean the subscription's payload may have changed. */
function subjectOf(root: unknown, variables: Record<string, unknown> | undefined): string {
  const field = root as { name: { value: string }; arguments?: Array<{ name: { value: string }; value: { kind: string; value?: string; name?: { value: string } } }> };
  const argument = field.arguments?.find((a) => a.name.value === 'tripId');
  const value = argument?.value.kind === Kind.VARIABLE ? variables?.[argument.value.name!.value] : argument?.value.value;
  if (field.name.value !== 'tripUpdates' || typeof value !== 'string' || !isValidId(value)) {
    throw new GraphQLError('tripUpdates needs a valid tripId.', { extensions: { code: 'BAD_USER_INPUT' } });
  }
  return tripUpdatedSubject(value);
}
