import { createTripDecider, defaultPricing } from '@happyride/domain';
import { KvDriverLocationStore, KvTripSlots } from '@happyride/eventstore';
import { envNumber, loadTypeDefs, readMovementLimits, type CommandSubgraphDefinition } from '@happyride/platform';
import { resolvers, tripCommands, type TripCommandsContext } from './resolvers.ts';

export const definition: CommandSubgraphDefinition<Pick<TripCommandsContext, 'decider' | 'trips' | 'slots' | 'locations'>> = {
  name: 'trip-commands',
  typeDefs: loadTypeDefs(new URL('../schema.graphql', import.meta.url)),
  resolvers,
  port: { variable: 'TRIP_COMMANDS_PORT', fallback: 4004 },
  dependencies: async (env, nats, store) => {
    const decider = createTripDecider(
      {
        baseFare: envNumber(env, 'FARE_BASE', defaultPricing.baseFare, { min: 0 }),
        perKm: envNumber(env, 'FARE_PER_KM', defaultPricing.perKm, { min: 0 }),
      },
      readMovementLimits(env),
    );
    return { decider, trips: tripCommands(store, decider), slots: await KvTripSlots.open(nats.js), locations: await KvDriverLocationStore.open(nats.js) };
  },
};
