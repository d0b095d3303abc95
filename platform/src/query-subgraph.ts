import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import type { Actor } from '@happyride/domain';
import { connectNats } from '@happyride/eventstore';
import type { DocumentNode } from 'graphql';
import type { Db } from 'mongodb';
import { envNumber, envPort, readMongoConfig, readNatsUrl, readProcessConfig, readVerifierAuth } from './config.ts';
import { startGraphQLService } from './graphql-service.ts';
import { tokenVerifier, type TokenVerifier } from './identity.ts';
import { createLogger, type Logger } from './logger.ts';
import { connectMongo } from './mongo.ts';
import { DEFAULT_GENERATION_POLL_MS, generationResolver, readGenerationPollMs, type ReadModelResolver } from './read-model-generations.ts';
import { runMain } from './process.ts';
import { readinessCheck } from './readiness.ts';
import { uncachedReads, type ReadCache } from './notice-cache.ts';
import { followNoticesWithCache } from './notice-cache-nats.ts';
import { identify } from './request-identity.ts';
import { subgraphSchema, type SubgraphResolvers } from './subgraph-schema.ts';

/**
 * What every query subgraph's resolvers get: the caller, the read-model database, and the
 * names of the read-model collections served now (`readModels.collection('trips')`), which
 * move when a projection is rebuilt, and the answers cache (`readCache`: see `cachedNotices`).
 */
export interface QueryContext {
  actor: Actor | null;
  db: Db;
  readModels: ReadModelResolver;
  readCache: ReadCache;
}

export interface QuerySubgraphDefinition {
  name: string;
  typeDefs: DocumentNode;
  resolvers: SubgraphResolvers<QueryContext>;
  /**
   * The notices of every write to what `readCache` answers hold (e.g. `updates.trip.*`): with
   * it, `runQuerySubgraph` listens on NATS and `readCache` keeps answers until the next notice
   * (`notice-cache.ts`); without it, `readCache` loads every read.
   */
  cachedNotices?: string;
}

export interface QuerySubgraphOptions {
  port: number;
  host?: string;
  db: Db;
  /** Default: the generation pointers in `db`, cached for `DEFAULT_GENERATION_POLL_MS`. */
  readModels?: ReadModelResolver;
  verify: TokenVerifier;
  /** Default: none (every read loads). */
  readCache?: ReadCache;
  logger: Logger;
  readiness?: () => Promise<string | null>;
  exposeInternalErrors?: boolean;
}

/** Serves a query subgraph: its SDL and resolvers over the read models in `db`. */
export function startQuerySubgraph(definition: QuerySubgraphDefinition, { db, verify, host, readModels, readCache = uncachedReads, ...options }: QuerySubgraphOptions) {
  const resolver = readModels ?? generationResolver(db, { ttlMs: DEFAULT_GENERATION_POLL_MS });
  return startGraphQLService<QueryContext>({
    ...options,
    ...(host ? { host } : {}),
    name: definition.name,
    // No cache hints are given anywhere, and the plugin's hook on every resolved field was 2% of a
    // cached page's CPU. Without its `cache-control: no-store` the gateway still takes an answer as
    // uncacheable (no header is max-age 0 to Apollo's gateway).
    apollo: { schema: subgraphSchema(definition.typeDefs, definition.resolvers), plugins: [ApolloServerPluginCacheControlDisabled()] },
    context: async ({ req }) => ({ actor: await identify(req.headers, verify), db, readModels: resolver, readCache }),
  });
}

/** A query subgraph's `main`: configuration, MongoDB, the server, and a graceful stop. */
export function runQuerySubgraph(definition: QuerySubgraphDefinition, portVariable: string, defaultPort: number): void {
  const logger = createLogger(definition.name);
  runMain(logger, async () => {
    // MongoDB and tokens; NATS only to hear notices (`cachedNotices`).
    const config = { ...readProcessConfig(process.env), ...readMongoConfig(process.env) };
    const auth = readVerifierAuth(process.env, config);
    const port = envPort(process.env, portVariable, defaultPort);
    const timeoutMs = envNumber(process.env, 'MONGODB_TIMEOUT_MS', 2_000, { min: 100, max: 60_000, integer: true });
    // Every read gives up after timeoutMs: MongoDB down is SERVICE_UNAVAILABLE, not a hang.
    const mongo = await connectMongo(config.mongoUrl, config.mongoDatabase, definition.name, { timeoutMs });
    // Core NATS only, to hear the notices (the user may subscribe to them and nothing else).
    const nats = definition.cachedNotices ? await connectNats(readNatsUrl(process.env), definition.name, { coreOnly: true }) : null;
    const answers =
      nats && definition.cachedNotices
        ? await followNoticesWithCache(nats, definition.cachedNotices, {
            logger,
            maxEntries: envNumber(process.env, 'READ_CACHE_ENTRIES', 256, { min: 0, max: 100_000, integer: true }),
            ttlMs: envNumber(process.env, 'READ_CACHE_TTL_MS', 5_000, { min: 1, max: 600_000, integer: true }),
          })
        : null;
    const service = await startQuerySubgraph(definition, {
      port,
      host: config.host,
      db: mongo.db,
      readModels: generationResolver(mongo.db, { ttlMs: readGenerationPollMs(process.env) }),
      verify: tokenVerifier(auth),
      ...(answers ? { readCache: answers.cache } : {}),
      logger,
      exposeInternalErrors: config.environment === 'development',
      readiness: () => readinessCheck('MongoDB', () => mongo.db.command({ ping: 1 })),
    });
    return [() => mongo.close(), async () => {
      answers?.stop();
      await nats?.close();
    }, () => service.stop()];
  });
}
