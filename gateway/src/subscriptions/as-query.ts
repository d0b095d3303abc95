import { GraphQLError, Kind, visit, type DocumentNode, type FieldNode, type OperationDefinitionNode } from 'graphql';

/**
 * Which query answers each subscription field: the payload of `tripUpdates(tripId: X)` is
 * what `trip(id: X)` answers now. One entry per subscription field.
 */
export const subscriptionQueries: Record<string, { queryField: string; argumentNames: Record<string, string> }> = {
  tripUpdates: { queryField: 'trip', argumentNames: { tripId: 'id' } },
  // The offers still open when the driver subscribes; each later one via `oneOfferQuery`.
  dispatchOffers: { queryField: 'myDispatchOffers', argumentNames: {} },
};

/** The variable `oneOfferQuery` adds for the trip whose offer changed. */
export const OFFER_TRIP_VARIABLE = 'dispatchOfferTripId';

/**
 * From the query `subscriptionAsQuery` made of `dispatchOffers`, the query of one offer:
 * `query { dispatchOffers: myDispatchOffers { ...S } }` becomes
 * `query ($dispatchOfferTripId: ID!) { dispatchOffers: dispatchOffer(tripId: $dispatchOfferTripId) { ...S } }`.
 */
export function oneOfferQuery(query: DocumentNode): DocumentNode {
  return visit(query, {
    OperationDefinition(node) {
      const [root] = node.selectionSet.selections;
      if (!root || root.kind !== Kind.FIELD) return undefined;
      const field: FieldNode = {
        ...root,
        name: { kind: Kind.NAME, value: 'dispatchOffer' },
        arguments: [{ kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: 'tripId' }, value: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: OFFER_TRIP_VARIABLE } } }],
      };
      return {
        ...node,
        variableDefinitions: [
          ...(node.variableDefinitions ?? []),
          {
            kind: Kind.VARIABLE_DEFINITION,
            variable: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: OFFER_TRIP_VARIABLE } },
            type: { kind: Kind.NON_NULL_TYPE, type: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: 'ID' } } },
          },
        ],
        selectionSet: { ...node.selectionSet, selections: [field] },
      } as OperationDefinitionNode;
    },
  });
}

/**
 * The one field a subscription operation selects at its root, as the gateway serves it: a field,
 * neither wrapped in a fragment nor carrying a directive (`@include(if: false)` on the root would
 * run no resolver, so no authorization), whatever a condition says; otherwise `BAD_USER_INPUT`.
 */
export function subscriptionRoot(operation: OperationDefinitionNode): FieldNode {
  const [root, ...others] = operation.selectionSet.selections;
  if (!root || others.length > 0 || root.kind !== Kind.FIELD) {
    throw new GraphQLError('A subscription operation must select exactly one root field.', { extensions: { code: 'BAD_USER_INPUT' } });
  }
  if (root.directives?.length) {
    throw new GraphQLError("A subscription's root field takes no directives (@include, @skip): its authorization always runs.", { extensions: { code: 'BAD_USER_INPUT' } });
  }
  return root;
}

/**
 * Rewrites a subscription operation into the query that fetches its payload through the
 * federated graph: `subscription S($t: ID!) { u: tripUpdates(tripId: $t) { ...F } }` becomes
 * `query S($t: ID!) { u: trip(id: $t) { ...F } }`, keeping the response key, selections,
 * fragments and variables, so the subscriber may select any field of the type it gets. The
 * root is `subscriptionRoot`'s: whatever it selects, its query field (and so its authorization) runs.
 */
export function subscriptionAsQuery(document: DocumentNode, operation: OperationDefinitionNode): { document: DocumentNode; responseKey: string } {
  const root = subscriptionRoot(operation);
  const mapping = subscriptionQueries[root.name.value];
  if (!mapping) throw new GraphQLError(`Unknown subscription field ${root.name.value}.`, { extensions: { code: 'BAD_USER_INPUT' } });
  const responseKey = root.alias?.value ?? root.name.value;
  const rewritten: FieldNode = {
    ...root,
    alias: { kind: Kind.NAME, value: responseKey },
    name: { kind: Kind.NAME, value: mapping.queryField },
    arguments: root.arguments?.map((argument) => ({
      ...argument,
      name: { kind: Kind.NAME, value: mapping.argumentNames[argument.name.value] ?? argument.name.value },
    })),
  };
  const query = visit(document, {
    OperationDefinition(node) {
      if (node !== operation) return null; // other operations of the document are not ours
      return { ...node, operation: 'query', selectionSet: { ...node.selectionSet, selections: [rewritten] } } as OperationDefinitionNode;
    },
  });
  return { document: query, responseKey };
}
