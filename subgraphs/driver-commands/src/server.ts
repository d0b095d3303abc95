import { KvDriverLocationStore } from '@happyride/eventstore';
import { loadTypeDefs, readMovementLimits, type CommandSubgraphDefinition } from '@happyride/platform';
import { RegisteredDrivers } from './registered-drivers.ts';
import { driverCommands, resolvers, type DriverCommandsContext } from './resolvers.ts';

type Dependencies = Pick<DriverCommandsContext, 'drivers' | 'locations' | 'registered' | 'movement'>;

export const definition: CommandSubgraphDefinition<Dependencies> = {
  name: 'driver-commands',
  typeDefs: loadTypeDefs(new URL('../schema.graphql', import.meta.url)),
  resolvers,
  port: { variable: 'DRIVER_COMMANDS_PORT', fallback: 4003 },
  dependencies: async (env, nats, store) => ({
    drivers: driverCommands(store),
    locations: await KvDriverLocationStore.open(nats.js),
    registered: new RegisteredDrivers(store),
    movement: readMovementLimits(env),
  }),
};
