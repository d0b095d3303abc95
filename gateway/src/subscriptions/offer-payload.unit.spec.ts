import { buildSchema, parse, printSchema, type GraphQLObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { noticedOffer, offerPayloadFromNotice } from './offer-payload.ts';

const schema = buildSchema(`
  type Query { dispatchOffer(tripId: ID!): DispatchOffer }
  enum DispatchOfferStatus { OPEN TAKEN }
  type Position { lng: Float! lat: Float! }
  type Passenger { name: String! }
  type DispatchOffer { tripId: ID! driverId: ID! status: DispatchOfferStatus! start: Position! fare: Float! updatedAt: String! passenger: Passenger }
`);
const oneOffer = (selection: string) =>
  parse(`query ($dispatchOfferTripId: ID!, $withFare: Boolean = true) { offers: dispatchOffer(tripId: $dispatchOfferTripId) { ${selection} } } fragment F on DispatchOffer { start { lng lat } }`);
const offer = { tripId: 't1', driverId: 'd1', status: 'OPEN', start: { lng: 1, lat: 2 }, fare: 12.5, updatedAt: '2026-11-26T00:00:00.000Z' };
const payload = (selection: string, fields: Record<string, unknown> = offer, variables: Record<string, unknown> = {}) =>
  offerPayloadFromNotice(schema, oneOffer(selection), { variables: { dispatchOfferTripId: 't1', ...variables }, operationName: undefined, offer: fields });

describe('offerPayloadFromNotice', () => {
  it('given a notice carrying every selected field, then the answer is the one the graph gives: aliases, fragments, directives, __typename', () => {
    const result = payload('__typename id: tripId status ...F fare @include(if: $withFare)', offer, { withFare: false });
    expect(JSON.parse(JSON.stringify(result))).toEqual({ data: { offers: { __typename: 'DispatchOffer', id: 't1', status: 'OPEN', start: { lng: 1, lat: 2 } } } });
  });

  it('given a selected field the notice lacks (an entity of another subgraph, a detail a closing notice does not repeat), then null: read it through the graph', () => {
    expect(payload('tripId passenger { name }')).toBeNull();
    expect(payload('tripId status fare', { tripId: 't1', driverId: 'd1', status: 'TAKEN', updatedAt: offer.updatedAt })).toBeNull();
  });

  it("given a schema whose fields resolve by themselves (as @apollo/gateway's do), then a field the notice lacks still means null", () => {
    const gatewayLike = buildSchema(printSchema(schema));
    for (const field of Object.values((gatewayLike.getType('DispatchOffer') as GraphQLObjectType).getFields())) field.resolve = (source: Record<string, unknown>, _args, _context, info) => source[info.path.key];
    expect(offerPayloadFromNotice(gatewayLike, oneOffer('tripId passenger { name }'), { variables: { dispatchOfferTripId: 't1' }, operationName: undefined, offer })).toBeNull();
  });

  it('given a value the schema does not allow, then null rather than a payload the graph would not give', () => {
    expect(payload('status', { ...offer, status: 'LOST' })).toBeNull();
  });
});

describe('noticedOffer', () => {
  it("given the driver's own offer of the notice's trip, then its fields", () => {
    expect(noticedOffer({ tripId: 't1', driverId: 'd1', status: 'OPEN', offer }, 'd1')).toBe(offer);
  });

  it("given a bare notice, another driver's offer or another trip's, then null (the graph decides)", () => {
    expect(noticedOffer({ tripId: 't1', driverId: 'd1', status: 'OPEN' }, 'd1')).toBeNull();
    expect(noticedOffer({ tripId: 't1', driverId: 'd2', status: 'OPEN', offer: { ...offer, driverId: 'd2' } }, 'd1')).toBeNull();
    expect(noticedOffer({ tripId: 't2', driverId: 'd1', status: 'OPEN', offer }, 'd1')).toBeNull();
    expect(noticedOffer('garbled', 'd1')).toBeNull();
  });
});
