import { tripUpdatedSubject } from '@happyride/eventstore';
import { loadTypeDefs, type QuerySubgraphDefinition } from '@happyride/platform';
import { resolvers } from './resolvers.ts';

export const SUBGRAPH_NAME = 'trip-queries';

export const definition: QuerySubgraphDefinition = {
  name: SUBGRAPH_NAME,
  typeDefs: loadTypeDefs(new URL('../schema.graphql', import.meta.url)),
  resolvers,
  // Pages of trips are held until the next trip notice (the projector sends one after each write).
  cachedNotices: tripUpdatedSubject('*'),
};
