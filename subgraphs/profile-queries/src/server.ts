import { loadTypeDefs, type QuerySubgraphDefinition } from '@happyride/platform';
import { resolvers } from './resolvers.ts';

export const SUBGRAPH_NAME = 'profile-queries';

export const definition: QuerySubgraphDefinition = {
  name: SUBGRAPH_NAME,
  typeDefs: loadTypeDefs(new URL('../schema.graphql', import.meta.url)),
  resolvers,
};
