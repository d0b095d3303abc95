import { identify, loadTypeDefs, startGraphQLService, subgraphSchema, type Logger, type TokenVerifier } from '@happyride/platform';
import type { Db } from 'mongodb';
import { resolvers, type QueriesContext } from './resolvers.ts';

export const SUBGRAPH_NAME = 'queries';
export const typeDefs = loadTypeDefs(new URL('../schema.graphql', import.meta.url));

export interface QueriesOptions {
  port: number;
  host?: string;
  db: Db;
  verify: TokenVerifier;
  logger: Logger;
  readiness?: () => Promise<string | null>;
  exposeInternalErrors?: boolean;
}

export function startQueries({ port, host, db, verify, logger, readiness, exposeInternalErrors }: QueriesOptions) {
  return startGraphQLService<QueriesContext>({
    name: SUBGRAPH_NAME,
    port,
    ...(host ? { host } : {}),
    logger,
    readiness,
    exposeInternalErrors,
    apollo: { schema: subgraphSchema(typeDefs, resolvers) },
    context: async ({ req }) => ({ actor: await identify(req.headers, verify), db }),
  });
}
