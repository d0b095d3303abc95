import { ApolloGateway } from '@apollo/gateway';
import type { Nats } from '@happyride/eventstore';
import { cachedReadiness, createMetricsRegistry, firstReason, identify, readinessCheck, startGraphQLService, type Logger, type RunningService, type TokenVerifier } from '@happyride/platform';
import type { GatewayContext } from './context.ts';
import { explorerRoutes } from './explorer/routes.ts';
import { operationLimitsPlugin, operationLimitsRule, type OperationLimits } from './plugins/operation-limits.ts';
import { rateLimitedError, rateLimiter, type RateLimitOptions } from './plugins/rate-limit.ts';
import { SubgraphDataSource } from './subgraph-data-source.ts';
import { registerSubscriptionMetrics } from './subscription-metrics.ts';
import type { WebSocketLimits } from './subscriptions/socket-limits.ts';
import { startSubscriptionServer } from './subscriptions/websocket-server.ts';
import type { GraphQLSchema } from 'graphql';

export interface GatewayOptions {
  port: number;
  host?: string;
  supergraphSdl: string;
  /** Subgraph name → URL, overriding the URLs recorded in the supergraph. */
  subgraphUrls: Record<string, string>;
  verify: TokenVerifier;
  nats: Nats;
  logger: Logger;
  exposeInternalErrors?: boolean;
  introspection?: boolean;
  limits: OperationLimits;
  rateLimit: RateLimitOptions;
  maxBodyBytes: number;
  /** graphql-ws: how long a socket may wait before `connection_init` (then 4408). */
  connectionInitWaitTimeoutMs?: number;
  /** graphql-ws: payload size, sockets per identity and per IP, subscriptions per socket. */
  webSocketLimits?: Partial<WebSocketLimits>;
  /** The self-hosted GraphiQL at `/graphiql` (default on; off answers 404). */
  graphiql?: boolean;
  /** Apollo's landing page (Sandbox, from Apollo's CDN) on `GET /graphql` (default on). */
  apolloSandbox?: boolean;
}

/** A subgraph's `/health` (beside its `/graphql`) answers 200. */
async function healthy(graphqlUrl: string): Promise<void> {
  const response = await fetch(new URL('/health', graphqlUrl), { signal: AbortSignal.timeout(1_500) });
  await response.body?.cancel();
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
}

/**
 * The one public endpoint: `/graphql` over HTTP (the federated graph), `/health`, and
 * `/ready` (503 until the supergraph is loaded and NATS answers), and `/graphiql` (an
 * explorer whose every asset is served from here). Every operation passes the
 * token, depth, alias and cost limits and the caller's rate limit before it reaches a subgraph.
 */
export async function startGateway(options: GatewayOptions): Promise<RunningService<GatewayContext>> {
  const { logger, nats } = options;
  let loaded = false;
  const gateway = new ApolloGateway({
    supergraphSdl: options.supergraphSdl,
    buildService: ({ name, url }) => new SubgraphDataSource(name, options.subgraphUrls[name] ?? url),
    logger,
  });
  const limiter = rateLimiter(options.rateLimit);
  let apiSchema: GraphQLSchema | undefined;
  gateway.onSchemaLoadOrUpdate(({ apiSchema: schema }) => {
    apiSchema = schema;
    loaded = true;
  });
  const validationRules = [operationLimitsRule(options.limits)];
  const metrics = createMetricsRegistry('gateway');

  const service = await startGraphQLService<GatewayContext>({
    name: 'gateway',
    metrics,
    port: options.port,
    ...(options.host ? { host: options.host } : {}),
    logger,
    exposeInternalErrors: options.exposeInternalErrors ?? false,
    maxBodyBytes: options.maxBodyBytes,
    ...(options.graphiql === false ? {} : { routes: explorerRoutes }),
    ...(options.apolloSandbox === false ? { landingPage: false } : {}),
    apollo: {
      gateway,
      introspection: options.introspection ?? true,
      parseOptions: { maxTokens: options.limits.maxTokens },
      validationRules,
      // The same limits again with the request's variables (page sizes given by a variable).
      plugins: [operationLimitsPlugin<GatewayContext>(options.limits)],
    },
    // NATS (a flush round trip) and every subgraph's /health, in parallel, each bounded,
    // the answer reused for 2 s: /ready never hangs and costs the subgraphs little.
    readiness: cachedReadiness(async () => {
      if (!loaded) return 'the supergraph is not loaded yet';
      return firstReason([
        readinessCheck('NATS', () => nats.connection.flush()),
        ...Object.entries(options.subgraphUrls).map(([name, url]) => readinessCheck(`the ${name} service`, () => healthy(url))),
      ]);
    }, 2_000),
    context: async ({ req, correlationId }) => {
      const actor = await identify(req.headers, options.verify);
      const limit = limiter.take(actor ? `${actor.role}:${actor.id}` : `ip:${req.socket.remoteAddress ?? 'unknown'}`, Date.now());
      if (!limit.allowed) throw rateLimitedError(limit.retryAfterSeconds);
      return { actor, correlationId, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) };
    },
  });
  const subscriptions = startSubscriptionServer({
    httpServer: service.httpServer,
    apollo: service.apollo,
    apiSchema: () => apiSchema,
    verify: options.verify,
    nats,
    logger,
    validationRules,
    operationLimits: options.limits,
    rateLimited: (actor) => {
      const limit = limiter.take(`${actor.role}:${actor.id}`, Date.now());
      return limit.allowed ? null : limit.retryAfterSeconds;
    },
    connectionInitWaitTimeoutMs: options.connectionInitWaitTimeoutMs ?? 3_000,
    ...(options.webSocketLimits ? { limits: options.webSocketLimits } : {}),
  });
  registerSubscriptionMetrics(metrics, subscriptions.stats);
  return {
    ...service,
    async stop() {
      await subscriptions.stop();
      await service.stop();
    },
  };
}
