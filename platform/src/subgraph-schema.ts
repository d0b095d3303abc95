import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse, type DocumentNode, type GraphQLSchema } from 'graphql';
import { readFileSync } from 'node:fs';

/** Reads a subgraph's SDL file (subgraphs are SDL first: `schema.graphql` beside `src/`). */
export function loadTypeDefs(url: URL): DocumentNode {
  return parse(readFileSync(url, 'utf8'));
}

/**
 * Builds a federation subgraph schema. Resolvers are typed against their own context type in
 * each subgraph; Apollo's map is typed for an unknown one, so the one cast lives here.
 */
export function subgraphSchema(typeDefs: DocumentNode, resolvers: object): GraphQLSchema {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return buildSubgraphSchema({ typeDefs, resolvers: resolvers as any });
}
