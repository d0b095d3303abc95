import { ApolloGateway } from '@apollo/gateway';
import type { Nats } from '@happyride/eventstore';
import {
  bearerToken,
  cachedReadiness,
  createMetricsRegistry,
  firstReason,
  InvalidTokenError,
  keySetUnavailable,
  readinessCheck,
  startGraphQLService,
  startMetricsServer,
  type Logger,
  type RunningService,
  type TokenVerifier,
} from '@happyride/platform';
import type { Actor } from '@happyride/domain';
import type { AddressInfo } from 'node:net';
import type { GatewayContext } from './context.ts';
import { explorerRoutes } from './explorer/routes.ts';
import { supergraphCostModel } from './plugins/cost-model.ts';
import { operationLimitsPlugin, operationLimitsRule, type OperationLimits } from './plugins/operation-limits.ts';
import { clientIp, parseTrustedProxies, type TrustedProxies } from './plugins/client-ip.ts';
import { rateLimitedError, rateLimiter, type RateLimitOptions } from './plugins/rate-limit.ts';
import { tokenAdmission, type Admission } from './plugins/token-admission.ts';
import { SubgraphDataSource } from './subgraph-data-source.ts';
import { registerSubscriptionMetrics } from './subscription-metrics.ts';
import type { WebSocketLimits } from './subscriptions/socket-limits.ts';
import { startSubscriptionServer } from './subscriptions/websocket-server.ts';
import { GraphQLError, type GraphQLSchema } from 'graphql';

export interface GatewayOptions {
  port: number;
  host?: string;
  supergraphSdl: string;
  /** Subgraph name → URL, overriding the URLs recorded in the supergraph. */
  subgraphUrls: Record<string, string>;
  /** One subgraph request gives up after it: `SERVICE_UNAVAILABLE` naming the subgraph (default 10 s). */
  subgraphTimeoutMs?: number;
  verify: TokenVerifier;
  nats: Nats;
  logger: Logger;
  exposeInternalErrors?: boolean;
  introspection?: boolean;
  limits: OperationLimits;
  rateLimit: RateLimitOptions;
  /** Peers whose `X-Forwarded-For` names the client (`TRUSTED_PROXIES`); default none. */
  trustedProxies?: TrustedProxies;
  maxBodyBytes: number;
  /** graphql-ws: how long a socket may wait before `connection_init` (then 4408). */
  connectionInitWaitTimeoutMs?: number;
  /** graphql-ws: payload size, sockets per identity and per IP, subscriptions per socket. */
  webSocketLimits?: Partial<WebSocketLimits>;
  /** The self-hosted GraphiQL at `/graphiql` (default on; off answers 404). */
  graphiql?: boolean;
  /** Apollo's landing page (Sandbox, from Apollo's CDN) on `GET /graphql` (default on). */
  apolloSandbox?: boolean;
  /**
   * The admin listener with `/metrics` (and `/health`, `/ready`): never the public port, whose
   * `/metrics` answers 404. Without it, the gateway serves no metrics.
   */
  metrics?: { port: number; host: string };
}

export interface RunningGateway extends RunningService<GatewayContext> {
  /** The admin listener's port (`/metrics`), when one was asked for. */
  metricsPort?: number;
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
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const { logger, nats } = options;
  let loaded = false;
  const gateway = new ApolloGateway({
    supergraphSdl: options.supergraphSdl,
    buildService: ({ name, url }) => new SubgraphDataSource(name, options.subgraphUrls[name] ?? url, options.subgraphTimeoutMs),
    logger,
  });
  const limiter = rateLimiter(options.rateLimit);
  const admitToken = tokenAdmission({ verify: options.verify, limiter });
  const trustedProxies = options.trustedProxies ?? parseTrustedProxies('');
  let apiSchema: GraphQLSchema | undefined;
  gateway.onSchemaLoadOrUpdate(({ apiSchema: schema }) => {
    apiSchema = schema;
    loaded = true;
  });
  // The cost prices entity hops where this supergraph has them (and page sizes by the list sizes).
  const limits: OperationLimits = { ...options.limits, costModel: options.limits.costModel ?? supergraphCostModel(options.supergraphSdl) };
  const validationRules = [operationLimitsRule(limits)];
  const metrics = createMetricsRegistry('gateway');

  const service = await startGraphQLService<GatewayContext>({
    name: 'gateway',
    metrics,
    metricsRoute: false,
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
      plugins: [operationLimitsPlugin<GatewayContext>(limits)],
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
      // A token verified before is admitted on a lookup; any other takes from its address's
      // failed-token budget until it verifies, and fails 429 once that is spent (`token-admission.ts`).
      // Then the identity's own bucket (the address's, when anonymous).
      const ip = clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for'], trustedProxies);
      const { authorization } = req.headers;
      let actor: Actor | null = null;
      if (authorization) {
        let token: string | undefined;
        try {
          token = bearerToken(authorization);
        } catch (error) {
          if (error instanceof InvalidTokenError) throw unauthenticatedToken(error);
          throw error;
        }
        if (token) actor = admitted(await admitToken(token, ip));
      }
      const limit = limiter.take(actor ? `${actor.role}:${actor.id}` : `ip:${ip}`, Date.now());
      if (!limit.allowed) throw rateLimitedError(limit.retryAfterSeconds);
      return authorization ? { actor, correlationId, authorization } : { actor, correlationId };
    },
  });
  const subscriptions = startSubscriptionServer({
    httpServer: service.httpServer,
    apollo: service.apollo,
    apiSchema: () => apiSchema,
    nats,
    logger,
    validationRules,
    operationLimits: limits,
    rateLimited: (actor) => {
      const limit = limiter.take(`${actor.role}:${actor.id}`, Date.now());
      return limit.allowed ? null : limit.retryAfterSeconds;
    },
    clientIp: (request) => clientIp(request.socket.remoteAddress, request.headers['x-forwarded-for'], trustedProxies),
    admitToken,
    connectionInitWaitTimeoutMs: options.connectionInitWaitTimeoutMs ?? 3_000,
    ...(options.webSocketLimits ? { limits: options.webSocketLimits } : {}),
  });
  registerSubscriptionMetrics(metrics, subscriptions.stats);
  const admin = options.metrics
    ? await startMetricsServer(metrics, options.metrics.port, { host: options.metrics.host, readiness: async () => (loaded ? null : 'the supergraph is not loaded yet') })
    : undefined;
  const metricsPort = admin ? (admin.address() as AddressInfo).port : undefined;
  if (admin) logger.info({ url: `http://${options.metrics!.host}:${metricsPort}/metrics` }, 'gateway metrics listening');
  return {
    ...service,
    ...(metricsPort !== undefined ? { metricsPort } : {}),
    async stop() {
      if (admin) {
        const closed = new Promise((resolve) => admin.close(resolve));
        admin.closeAllConnections();
        await closed;
      }
      await subscriptions.stop();
      await service.stop();
    },
  };
}

/** A bearer token that was not accepted: 401 `UNAUTHENTICATED`, as every subgraph answers it. */
const unauthenticatedToken = (error: InvalidTokenError) => new GraphQLError(error.message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });

/** The actor of an admitted token, or the error its refusal is answered with. */
function admitted(admission: Admission): Actor {
  switch (admission.kind) {
    case 'verified':
      return admission.actor;
    case 'invalid':
      throw unauthenticatedToken(admission.error);
    case 'flooding':
      throw rateLimitedError(admission.retryAfterSeconds);
    case 'unavailable':
      throw keySetUnavailable(admission.error);
    default: {
      const unreachable: never = admission;
      throw new Error(`unknown admission ${JSON.stringify(unreachable)}`);
    }
  }
}
