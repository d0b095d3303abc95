import fc from 'fast-check';
import { getOperationAST, GraphQLError, Kind, parse, print } from 'graphql';
import { describe, expect, it } from 'vitest';
import { directiveSubscription } from '../../../tests/support/directive-subscriptions.ts';
import { oneOfferQuery, subscriptionAsQuery } from './as-query.ts';

const rewrite = (source: string, name?: string) => {
  const document = parse(source);
  const result = subscriptionAsQuery(document, getOperationAST(document, name)!);
  return { query: print(result.document), responseKey: result.responseKey };
};

describe('a subscription as the query that fetches its payload', () => {
  it('given tripUpdates with a variable and fragments, then it becomes trip(id:) keeping key, selections and fragments', () => {
    const { query, responseKey } = rewrite(`
      subscription Follow($t: ID!) { tripUpdates(tripId: $t) { id state ...Names passenger { name } } }
      fragment Names on Trip { passengerName driverName }`);
    expect(responseKey).toBe('tripUpdates');
    expect(query).toBe(
      print(parse(`query Follow($t: ID!) { tripUpdates: trip(id: $t) { id state ...Names passenger { name } } }
        fragment Names on Trip { passengerName driverName }`)),
    );
  });

  it('given an alias, then the alias stays the response key', () => {
    expect(rewrite('subscription { mine: tripUpdates(tripId: "t1") { id } }')).toEqual({
      query: print(parse('query { mine: trip(id: "t1") { id } }')),
      responseKey: 'mine',
    });
  });

  it('given a document with several operations, then only the chosen one is kept', () => {
    const { query } = rewrite('query Other { tripStats { total } } subscription S { tripUpdates(tripId: "t") { id } }', 'S');
    expect(query).toBe(print(parse('query S { tripUpdates: trip(id: "t") { id } }')));
  });

  it('given generated documents with @include/@skip on the root, on fragments wrapping it, or under it (aliased or not), then each is refused with BAD_USER_INPUT or its query runs trip(id:) unconditionally', () => {
    const named = 'subscription ($t: ID!) { tripUpdates(tripId: $t) @include(if: false) { id } }';
    expect(() => rewrite(named)).toThrow(expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT' } }));
    fc.assert(
      fc.property(directiveSubscription(), ({ query, responseKey }) => {
        let rewritten: ReturnType<typeof rewrite>;
        try {
          rewritten = rewrite(query);
        } catch (error) {
          expect(error).toBeInstanceOf(GraphQLError);
          expect((error as GraphQLError).extensions['code']).toBe('BAD_USER_INPUT');
          return;
        }
        const operation = getOperationAST(parse(rewritten.query))!;
        expect(operation.selectionSet.selections).toHaveLength(1);
        const [root] = operation.selectionSet.selections;
        expect(root).toMatchObject({ kind: Kind.FIELD, name: { value: 'trip' }, alias: { value: responseKey }, directives: [] });
        expect(rewritten.responseKey).toBe(responseKey);
      }),
      { numRuns: 300 },
    );
  });

  it('given two root fields, then it is refused', () => {
    expect(() => rewrite('subscription { a: tripUpdates(tripId: "1") { id } b: tripUpdates(tripId: "2") { id } }')).toThrow(/exactly one root field/);
  });

  it('given dispatchOffers, then the open offers come from myDispatchOffers and each later one from dispatchOffer(tripId:)', () => {
    const document = parse('subscription Offers { dispatchOffers { tripId fare passenger { name } } }');
    const { document: query, responseKey } = subscriptionAsQuery(document, getOperationAST(document)!);
    expect(responseKey).toBe('dispatchOffers');
    expect(print(query)).toBe(print(parse('query Offers { dispatchOffers: myDispatchOffers { tripId fare passenger { name } } }')));
    expect(print(oneOfferQuery(query))).toBe(
      print(parse('query Offers($dispatchOfferTripId: ID!) { dispatchOffers: dispatchOffer(tripId: $dispatchOfferTripId) { tripId fare passenger { name } } }')),
    );
  });
});
