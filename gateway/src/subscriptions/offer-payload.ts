import { buildSchema, executeSync, printSchema, type DocumentNode, type ExecutionResult, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';

/** Thrown by the resolver for a field the notice does not carry. */
class NotCarried extends Error {}

/** Every field from the source object as it is; one the source lacks fails the whole answer. */
const carriedField: GraphQLFieldResolver<unknown, unknown> = (source, _args, _context, info) => {
  if (typeof source !== 'object' || source === null || !Object.hasOwn(source, info.fieldName)) throw new NotCarried(info.fieldName);
  return (source as Record<string, unknown>)[info.fieldName];
};

/**
 * The schema's types without its resolvers: `@apollo/gateway` gives every field of its schema a
 * resolver of its own (reading the response key), which would answer a field the notice lacks
 * with null instead of failing. Built once per schema, which takes tens of milliseconds on the
 * whole API schema: call it when a `dispatchOffers` subscription is prepared, so the first
 * offer pushed does not wait for it (the first trip's offers in `bench:subscriptions` reached
 * their drivers 40 ms later than the rest).
 */
const withoutResolvers = new WeakMap<GraphQLSchema, GraphQLSchema>();
export function typesOnly(schema: GraphQLSchema): GraphQLSchema {
  let plain = withoutResolvers.get(schema);
  if (!plain) withoutResolvers.set(schema, (plain = buildSchema(printSchema(schema))));
  return plain;
}

/**
 * The answer of the one-offer query (`query ($dispatchOfferTripId: ID!) { k: dispatchOffer(tripId: …) { …S } }`)
 * computed from the offer a notice carries, without reading it through the graph: executed
 * against the API schema with `offer` as `dispatchOffer`, so aliases, fragments, `@include`/`@skip`,
 * `__typename`, enums and scalars come out exactly as the graph would answer. Null when the
 * selection asks for a field the notice lacks (`passenger`, or details a closing notice does not
 * repeat): the caller then reads the offer through the graph.
 */
export function offerPayloadFromNotice(
  schema: GraphQLSchema,
  oneOfferQuery: DocumentNode,
  { variables, operationName, offer }: { variables: Record<string, unknown>; operationName: string | undefined; offer: Record<string, unknown> },
): ExecutionResult | null {
  let result: ExecutionResult;
  try {
    result = executeSync({
      schema: typesOnly(schema),
      document: oneOfferQuery,
      variableValues: variables,
      operationName: operationName ?? null,
      rootValue: { dispatchOffer: offer },
      fieldResolver: carriedField,
    });
  } catch {
    return null; // whatever went wrong here, the graph can still answer
  }
  return result.errors?.length || result.data == null ? null : result;
}

/**
 * The offer an offer notice carries (`DispatchOfferNotice.offer`), if it is `driverId`'s own
 * offer of the notice's trip; null otherwise (an older publisher's notice, or one that is not
 * this driver's: never pushed, the graph decides).
 */
export function noticedOffer(notice: unknown, driverId: string): Record<string, unknown> | null {
  if (typeof notice !== 'object' || notice === null) return null;
  const { tripId, offer } = notice as { tripId?: unknown; offer?: unknown };
  if (typeof offer !== 'object' || offer === null) return null;
  const fields = offer as Record<string, unknown>;
  return typeof tripId === 'string' && fields['tripId'] === tripId && fields['driverId'] === driverId ? fields : null;
}
