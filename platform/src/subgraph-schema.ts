import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { parse, type DocumentNode, type GraphQLResolveInfo, type GraphQLScalarType, type GraphQLSchema } from 'graphql';
import { readFileSync } from 'node:fs';
import { guardEntities } from './entity-references.ts';

/** Reads a subgraph's SDL file (subgraphs are SDL first: `schema.graphql` beside `src/`). */
export function loadTypeDefs(url: URL): DocumentNode {
  return parse(readFileSync(url, 'utf8'));
}

type FieldResolver<C> = (parent: never, args: never, context: C, info: GraphQLResolveInfo) => unknown;
/** An entity's `__resolveReference` (federation): no arguments, the context second. */
type ReferenceResolver<C> = (reference: never, context: C, info: GraphQLResolveInfo) => unknown;

/**
 * A subgraph's resolver map over the context `C` the platform gives its resolvers: the shape
 * of the `Resolvers` type generated from its SDL (`src/generated/resolvers-types.ts`), so a
 * resolver that expects another context fails the typecheck where the subgraph is defined.
 */
export type SubgraphResolvers<C> = Record<
  string,
  GraphQLScalarType | Record<string, FieldResolver<C> | { resolve: FieldResolver<C> } | ReferenceResolver<C>>
>;

/**
 * Builds a federation subgraph schema from its SDL and resolvers. Apollo's resolver map types
 * every resolver as a field resolver (context third, any parent): `__resolveReference` (context
 * second) does not fit it, so the map is widened to Apollo's type here, after `SubgraphResolvers`
 * has checked the context, and the generated types each parent and argument. Its `_entities`
 * hands `__resolveReference` only typed, bounded references (`guardEntities`): a resolver's
 * `{ id }` is an id in the id format, never what a caller put in an `_Any`.
 */
export function subgraphSchema<C>(typeDefs: DocumentNode, resolvers: SubgraphResolvers<C>): GraphQLSchema {
  return guardEntities(buildSubgraphSchema([{ typeDefs, resolvers: resolvers as GraphQLResolverMap<C> }]));
}
