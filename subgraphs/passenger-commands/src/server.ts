import { loadTypeDefs, type CommandSubgraphDefinition } from '@happyride/platform';
import { resolvers } from './resolvers.ts';

export const definition: CommandSubgraphDefinition<object> = {
  name: 'passenger-commands',
  typeDefs: loadTypeDefs(new URL('../schema.graphql', import.meta.url)),
  resolvers,
  port: { variable: 'PASSENGER_COMMANDS_PORT', fallback: 4001 },
  dependencies: () => ({}),
};
