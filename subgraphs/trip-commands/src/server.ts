import { createTripDecider, type Pricing } from '@happyride/domain';
import type { EventStore } from '@happyride/eventstore';
import { identify, loadTypeDefs, startGraphQLService, subgraphSchema, type Logger, type TokenVerifier } from '@happyride/platform';
import { resolvers, type TripCommandsContext } from './resolvers.ts';

export const SUBGRAPH_NAME = 'trip-commands';
export const typeDefs = loadTypeDefs(new URL('../schema.graphql', import.meta.url));

export interface TripCommandsOptions {
  port: number;
  host?: string;
  store: EventStore;
  /** How requested trips are priced; the domain's default pricing when not given. */
  pricing?: Pricing;
  verify: TokenVerifier;
  logger: Logger;
  readiness?: () => Promise<string | null>;
  now?: () => Date;
  exposeInternalErrors?: boolean;
}

export function startTripCommands({ port, host, store, pricing, verify, logger, readiness, now = () => new Date(), exposeInternalErrors }: TripCommandsOptions) {
  const decider = createTripDecider(pricing);
  return startGraphQLService<TripCommandsContext>({
    name: SUBGRAPH_NAME,
    port,
    ...(host ? { host } : {}),
    logger,
    readiness,
    exposeInternalErrors,
    apollo: { schema: subgraphSchema(typeDefs, resolvers) },
    context: async ({ req, correlationId }) => ({ actor: await identify(req.headers, verify), correlationId, store, decider, now }),
  });
}
