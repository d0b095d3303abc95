import { operationFromDocument } from '@apollo/federation-internals';
import { QueryPlanner, type PlanNode, type SubscriptionNode } from '@apollo/query-planner';
import { listSizes } from '@happyride/platform/list-sizes';
import fc from 'fast-check';
import {
  getNamedType,
  getNullableType,
  isCompositeType,
  isEnumType,
  isListType,
  isNonNullType,
  isObjectType,
  parse,
  validate,
  type GraphQLField,
  type GraphQLObjectType,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { apiSchema, costModel, costOf, limitCodes, supergraph, supergraphSdl } from '../../../tests/support/graph-costs.ts';
import { ENTITY_HOP_COST, fieldGraphsOf } from './cost-model.ts';

const OFFER_STATUSES = ['OPEN', 'ASSIGNED', 'TAKEN', 'EXPIRED', 'CANCELLED'] as const;
const OFFER_FIELDS = ['tripId', 'driverId', 'status', 'start { lng lat }', 'end { lng lat }', 'distanceKm', 'fare', 'passengerId', 'passengerName', 'expiresAt', 'updatedAt'];
const PASSENGER_FIELDS = ['name', 'banned', 'registeredAt', 'updatedAt', 'version'];
const offersQuery = (aliases: number, status: string, offerFields: readonly string[], passengerFields: readonly string[]) =>
  `{ ${Array.from({ length: aliases }, (_, i) => `o${i}: myDispatchOffers(status: ${status}) { ${offerFields.join(' ')} passenger { ${passengerFields.join(' ')} } }`).join(' ')} }`;

describe('issue 20, example 5: a driver asks for the passengers of their offers, 15 times over', () => {
  it('given 15 aliases of myDispatchOffers(status: EXPIRED) { passenger { name } }, then COST_LIMIT_EXCEEDED under the default limit', () => {
    const query = offersQuery(15, 'EXPIRED', [], ['name']);
    expect(validate(apiSchema, parse(query))).toEqual([]);
    expect(limitCodes(query)).toEqual(['COST_LIMIT_EXCEEDED']);
    // 1,500 passengers, each a representation profile-queries resolves with 2-3 reads.
    expect(costOf(query)).toBeGreaterThanOrEqual(1_500 * ENTITY_HOP_COST);
  });

  it('given 1 to 15 aliases of any status, any more fields of each offer and of its passenger, then COST_LIMIT_EXCEEDED', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 15 }),
        fc.constantFrom(...OFFER_STATUSES),
        fc.subarray(OFFER_FIELDS),
        fc.subarray(PASSENGER_FIELDS, { minLength: 1 }),
        (aliases, status, offerFields, passengerFields) => {
          const query = offersQuery(aliases, status, offerFields, ['id', ...passengerFields]);
          expect(limitCodes(query)).toEqual(['COST_LIMIT_EXCEEDED']);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('given the offers with their passengers\' ids only (no hop: trip-queries has the key), then it runs: 100 offers × 2 fields', () => {
    expect(limitCodes('{ myDispatchOffers(status: EXPIRED) { tripId passenger { id } } }')).toEqual([]);
    expect(costOf('{ myDispatchOffers(status: EXPIRED) { tripId passenger { id } } }')).toBe(1 + 100 * 3);
  });
});

describe('the supergraph tells the hops', () => {
  const graphs = fieldGraphsOf(supergraphSdl);

  it('given the committed supergraph, then a passenger\'s name is profile-queries\', an offer\'s passenger trip-queries\', and its id both', () => {
    expect(costModel.fieldGraphs.get('Passenger.name')).toEqual(['PROFILE_QUERIES']);
    expect(costModel.fieldGraphs.get('DispatchOffer.passenger')).toEqual(['TRIP_QUERIES']);
    expect(costModel.fieldGraphs.get('Passenger.id')).toEqual(['PROFILE_QUERIES', 'TRIP_QUERIES']);
    expect(graphs.get('Trip.driver')).toEqual(['TRIP_QUERIES']);
  });

  it('given a trip with its passenger\'s and driver\'s names, then two hops; with their ids, none', () => {
    const plain = costOf('{ trip(id: "t1") { id passenger { id } driver { id } } }');
    expect(plain).toBe(1 + 1 + 2 + 2);
    expect(costOf('{ trip(id: "t1") { id passenger { name } driver { name } } }')).toBe(plain + 2 * ENTITY_HOP_COST);
  });
});

describe('every list field has its size', () => {
  const types = [...Object.values(apiSchema.getTypeMap())].filter((t): t is GraphQLObjectType => isObjectType(t) && !t.name.startsWith('__'));
  const listFields = types.flatMap((type) => Object.values(type.getFields()).filter((f) => isListType(getNullableType(f.type)) || f.args.some((a) => a.name === 'first')).map((f) => ({ coordinate: `${type.name}.${f.name}`, field: f })));

  it('given the supergraph and the subscriptions, then each list field and each paged one (taking `first`) is in platform/src/list-sizes.ts, and only those', () => {
    expect(listFields.map((f) => f.coordinate).sort()).toEqual(Object.keys(listSizes).sort());
  });

  it('given a paged field, then its SDL default is the list sizes\' default', () => {
    let paged = 0;
    for (const { coordinate, field } of listFields) {
      const size = listSizes[coordinate];
      if (size?.by !== 'first') continue;
      paged++;
      expect({ coordinate, default: field.args.find((a) => a.name === 'first')?.defaultValue }).toEqual({ coordinate, default: size.default });
    }
    expect(paged).toBe(3);
  });
});

// ---------------------------------------------------------------------------------------------
// Cost covers fan-out: random operations over the real graph, their work counted by the query
// planner's own plan (the gateway's), independently of the cost model.

interface Selection {
  responseName: string;
  field: GraphQLField<unknown, unknown>;
  coordinate: string;
  first: number | undefined;
  text: string;
  children: Selection[];
}

/** Random selections of a type's fields, drawn from `choices` (a stream of numbers). */
function buildSelections(type: GraphQLObjectType, choices: number[], depth: number, at: { i: number }): Selection[] {
  const next = () => choices[at.i++ % choices.length]!;
  const fields = Object.values(type.getFields()).filter((f) => !f.name.startsWith('_'));
  const count = 1 + (next() % 3);
  const selections: Selection[] = [];
  for (let n = 0; n < count; n++) {
    const field = fields[next() % fields.length]!;
    const named = getNamedType(field.type);
    if (isCompositeType(named) && depth >= 5) continue;
    const args: string[] = [];
    let first: number | undefined;
    for (const arg of field.args) {
      const argType = getNamedType(arg.type);
      if (arg.name === 'first') {
        if (next() % 3 > 0) args.push(`first: ${(first = 1 + (next() % 100))}`);
      } else if (isEnumType(argType) && (isNonNullType(arg.type) || next() % 2 === 0)) {
        const values = argType.getValues();
        args.push(`${arg.name}: ${values[next() % values.length]!.name}`);
      } else if (isNonNullType(arg.type)) {
        args.push(`${arg.name}: "x${next() % 5}"`);
      }
    }
    const responseName = next() % 2 === 0 ? `a${selections.length}_${depth}` : field.name;
    if (selections.some((s) => s.responseName === responseName)) continue;
    const children = isObjectType(named) ? buildSelections(named, choices, depth + 1, at) : [];
    if (isCompositeType(named) && children.length === 0) continue;
    const call = `${responseName === field.name ? '' : `${responseName}: `}${field.name}${args.length ? `(${args.join(', ')})` : ''}`;
    selections.push({ responseName, field, coordinate: `${type.name}.${field.name}`, first, text: children.length ? `${call} { ${children.map((c) => c.text).join(' ')} }` : call, children });
  }
  return selections;
}

/** How many items a list selection returns at most (the list sizes; `edges` its parent's page). */
function itemsOf(selection: Selection, parent: Selection | undefined): number {
  const size = listSizes[selection.coordinate];
  if (!size) return isListType(getNullableType(selection.field.type)) ? 100 : 1;
  if (size.by === 'cap') return size.max;
  if (size.by === 'first') return 1; // its items are counted where its `edges` are
  if (size.by === 'parent') return parent?.first ?? (parent ? (listSizes[parent.coordinate] as { default?: number }).default ?? 1 : 1);
  return 1;
}

/** Objects the operation can return: every composite selection, once per item of the lists above it. */
function objectsOf(selections: Selection[], multiplier: number, parent: Selection | undefined): number {
  return selections.reduce((sum, s) => {
    if (s.children.length === 0) return sum;
    const items = multiplier * itemsOf(s, parent);
    return sum + items + objectsOf(s.children, items, s);
  }, 0);
}

/** Entity representations the plan can send: each Flatten fetch, once per item of the lists on its path. */
function entityFetchesOf(node: PlanNode | SubscriptionNode | undefined, roots: Selection[]): number {
  if (!node) return 0;
  switch (node.kind) {
    case 'Sequence':
    case 'Parallel':
      return node.nodes.reduce((sum, n) => sum + entityFetchesOf(n, roots), 0);
    case 'Flatten': {
      let items = 1;
      let selections = roots;
      let current: Selection | undefined;
      let parent: Selection | undefined;
      for (const step of node.path) {
        if (step === '@') {
          items *= current ? itemsOf(current, parent) : 100;
          continue;
        }
        parent = current;
        current = selections.find((s) => s.responseName === step);
        selections = current?.children ?? [];
      }
      return items + entityFetchesOf(node.node, roots);
    }
    case 'Fetch':
      return 0;
    default:
      return 0;
  }
}

const planner = new QueryPlanner(supergraph);
const queryType = apiSchema.getQueryType()!;
const operations = fc.array(fc.nat({ max: 1_000 }), { minLength: 20, maxLength: 120 }).map((choices) => {
  const selections = buildSelections(queryType, choices, 1, { i: 0 });
  return { selections, query: `{ ${selections.map((s) => s.text).join(' ')} }` };
});

describe('cost covers fan-out (property)', () => {
  it('given random operations (aliases, nesting, page sizes, entity hops), then cost ≥ objects returned + entity representations fetched, by the query plan', () => {
    let withHops = 0;
    fc.assert(
      fc.property(operations, ({ selections, query }) => {
        fc.pre(selections.length > 0);
        expect(validate(apiSchema, parse(query))).toEqual([]);
        const plan = planner.buildQueryPlan(operationFromDocument(supergraph.apiSchema(), parse(query)));
        const fetches = entityFetchesOf(plan.node, selections);
        if (fetches > 0) withHops++;
        expect(costOf(query)).toBeGreaterThanOrEqual(objectsOf(selections, 1, undefined) + fetches * ENTITY_HOP_COST);
      }),
      { numRuns: 300 },
    );
    // The generated operations do reach other subgraphs.
    expect(withHops).toBeGreaterThan(30);
  });

  it('given a random operation and one more field anywhere in it, then its cost does not go down', () => {
    fc.assert(
      fc.property(operations, fc.nat(), ({ selections, query }, where) => {
        fc.pre(selections.length > 0);
        const braces = [...query.matchAll(/\{/g)].map((m) => m.index);
        const at = braces[where % braces.length]!;
        const bigger = `${query.slice(0, at + 1)} __typename${query.slice(at + 1)}`;
        expect(costOf(bigger)).toBeGreaterThan(costOf(query));
      }),
      { numRuns: 300 },
    );
  });

});
