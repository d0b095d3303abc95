import { ApolloGateway } from '@apollo/gateway';
import type { Nats } from '@happyride/eventstore';
import { identify, startGraphQLService, type Logger, type RunningService, type TokenVerifier } from '@happyride/platform';
import type { GatewayContext } from './context.ts';
import { SubgraphDataSource } from './subgraph-data-source.ts';

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
}

/**
 * The one public endpoint: `/graphql` over HTTP (the federated graph), `/health`, and
 * `/ready` (503 until the supergraph is loaded and NATS answers).
 */
export async function startGateway(options: GatewayOptions): Promise<RunningService> {
  const { logger, nats } = options;
  let loaded = false;
  const gateway = new ApolloGateway({
    supergraphSdl: options.supergraphSdl,
    buildService: ({ name, url }) => new SubgraphDataSource({ url: options.subgraphUrls[name] ?? url }),
    logger,
  });
  gateway.onSchemaLoadOrUpdate(() => {
    loaded = true;
  });

  return startGraphQLService<GatewayContext>({
    name: 'gateway',
    port: options.port,
    ...(options.host ? { host: options.host } : {}),
    logger,
    exposeInternalErrors: options.exposeInternalErrors ?? false,
    apollo: { gateway, introspection: options.introspection ?? true },
    readiness: async () => {
      if (!loaded) return 'the supergraph is not loaded yet';
      if (nats.connection.isClosed()) return 'the NATS connection is closed';
      try {
        await nats.connection.flush();
      } catch {
        return 'NATS does not answer';
      }
      return null;
    },
    context: async ({ req, correlationId }) => {
      const actor = await identify(req.headers, options.verify);
      return { actor, correlationId, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) };
    },
  });
}
