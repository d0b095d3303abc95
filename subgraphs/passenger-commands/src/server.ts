import { loadTypeDefs, type CommandSubgraphDefinition } from '@happyride/platform';
import { passengerCommands, resolvers, type PassengerCommandsContext } from './resolvers.ts';

export const definition: CommandSubgraphDefinition<Pick<PassengerCommandsContext, 'passengers'>> = {
  name: 'passenger-commands',
  typeDefs: loadTypeDefs(new URL('../schema.graphql', import.meta.url)),
  resolvers,
  port: { variable: 'PASSENGER_COMMANDS_PORT', fallback: 4001 },
  dependencies: (_env, _nats, store) => ({ passengers: passengerCommands(store) }),
};
