import type { EventStore } from '@happyride/eventstore';
import { identify, loadTypeDefs, startGraphQLService, subgraphSchema, type Logger, type TokenVerifier } from '@happyride/platform';
import { resolvers, type PassengerCommandsContext } from './resolvers.ts';

export const SUBGRAPH_NAME = 'passenger-commands';
export const typeDefs = loadTypeDefs(new URL('../schema.graphql', import.meta.url));

export interface PassengerCommandsOptions {
  port: number;
  host?: string;
  store: EventStore;
  verify: TokenVerifier;
  logger: Logger;
  readiness?: () => Promise<string | null>;
  now?: () => Date;
  exposeInternalErrors?: boolean;
}

export function startPassengerCommands({ port, host, store, verify, logger, readiness, now = () => new Date(), exposeInternalErrors }: PassengerCommandsOptions) {
  return startGraphQLService<PassengerCommandsContext>({
    name: SUBGRAPH_NAME,
    port,
    ...(host ? { host } : {}),
    logger,
    readiness,
    exposeInternalErrors,
    apollo: { schema: subgraphSchema(typeDefs, resolvers) },
    context: async ({ req, correlationId }) => ({ actor: await identify(req.headers, verify), correlationId, store, now }),
  });
}
