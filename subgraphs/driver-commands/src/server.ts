import type { DriverLocationStore, EventStore } from '@happyride/eventstore';
import { identify, loadTypeDefs, startGraphQLService, subgraphSchema, type Logger, type TokenVerifier } from '@happyride/platform';
import { RegisteredDrivers } from './registered-drivers.ts';
import { resolvers, type DriverCommandsContext } from './resolvers.ts';

export const SUBGRAPH_NAME = 'driver-commands';
export const typeDefs = loadTypeDefs(new URL('../schema.graphql', import.meta.url));

export interface DriverCommandsOptions {
  port: number;
  host?: string;
  store: EventStore;
  locations: DriverLocationStore;
  verify: TokenVerifier;
  logger: Logger;
  readiness?: () => Promise<string | null>;
  now?: () => Date;
  exposeInternalErrors?: boolean;
}

export function startDriverCommands({ port, host, store, locations, verify, logger, readiness, now = () => new Date(), exposeInternalErrors }: DriverCommandsOptions) {
  const registered = new RegisteredDrivers(store);
  return startGraphQLService<DriverCommandsContext>({
    name: SUBGRAPH_NAME,
    port,
    ...(host ? { host } : {}),
    logger,
    readiness,
    exposeInternalErrors,
    apollo: { schema: subgraphSchema(typeDefs, resolvers) },
    context: async ({ req, correlationId }) => ({ actor: await identify(req.headers, verify), correlationId, store, locations, registered, now }),
  });
}
