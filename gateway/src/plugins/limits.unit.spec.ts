import { buildSchema, getIntrospectionQuery, Kind, parse, print, specifiedRules, validate, type DefinitionNode, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { checkOperationCost, defaultOperationLimits, MAX_VISITS, measureOperation, operationLimitsRule } from './operation-limits.ts';
import { rateLimiter } from './rate-limit.ts';

const schema = buildSchema(`
  type Query { trip(id: ID!): Trip, trips(first: Int): TripConnection, myTrips(first: Int = 20): TripConnection, letters(first: Int = 50): [Trip] }
  type TripConnection { edges: [TripEdge] }
  type TripEdge { node: Trip }
  type Trip { id: ID, next: Trip, name: String }
`);
const codesOf = (query: string, limits = defaultOperationLimits) =>
  validate(schema, parse(query), [operationLimitsRule(limits)]).map((error) => error.extensions.code);

describe('operation limits', () => {
  it('given a shallow query, then it passes', () => expect(codesOf('{ trip(id: 1) { id next { id } } }')).toEqual([]));

  it('given a query nested deeper than the limit, then DEPTH_LIMIT_EXCEEDED', () => {
    const deep = `{ trip(id: 1) { ${'next { '.repeat(8)} id ${'} '.repeat(8)} } }`;
    expect(codesOf(deep)).toEqual(['DEPTH_LIMIT_EXCEEDED']);
  });

  it('given depth hidden in fragments, then it still counts', () => {
    const query = `{ trip(id: 1) { ...A } } fragment A on Trip { next { next { ...B } } } fragment B on Trip { next { next { next { next { next { id } } } } } }`;
    expect(codesOf(query)).toEqual(['DEPTH_LIMIT_EXCEEDED']);
  });

  it('given 16 aliases, then ALIAS_LIMIT_EXCEEDED', () => {
    const aliases = Array.from({ length: 16 }, (_, i) => `a${i}: trip(id: ${i}) { id }`).join(' ');
    expect(codesOf(`{ ${aliases} }`)).toEqual(['ALIAS_LIMIT_EXCEEDED']);
  });

  it('given pages of pages, then the estimated cost multiplies and COST_LIMIT_EXCEEDED', () => {
    expect(codesOf('{ trips(first: 100) { edges { node { id name next { id name } } } } }')).toEqual([]);
    expect(codesOf('{ trips(first: 100) { edges { node { id name next { id name } } } } }', { ...defaultOperationLimits, maxCost: 500 })).toEqual([
      'COST_LIMIT_EXCEEDED',
    ]);
  });

  it('given the standard introspection query (GraphiQL, Sandbox), then it passes every limit', () =>
    expect(validate(schema, parse(getIntrospectionQuery()), [...specifiedRules, operationLimitsRule(defaultOperationLimits)])).toEqual([]));

  it('given deep introspection, then its depth does not count but it costs its root plus 1 per field', () => {
    const nested = '{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } }';
    expect(codesOf(nested)).toEqual([]);
    expect(measured(nested)).toEqual({ depth: 1, aliases: 0, cost: 5010 });
    expect(measured('{ __type(name: "Trip") { name fields { name } } }').cost).toBe(54);
  });

  it('given the standard introspection query four times, then it passes; five times, then COST_LIMIT_EXCEEDED', () => {
    const [operation, ...fragments] = parse(getIntrospectionQuery()).definitions as [OperationDefinitionNode, ...DefinitionNode[]];
    const schemaField = print(operation.selectionSet.selections[0]!);
    const copies = (n: number) => `query Many { ${Array.from({ length: n }, (_, i) => `s${i}: ${schemaField}`).join(' ')} } ${fragments.map((f) => print(f)).join(' ')}`;
    expect(codesOf(copies(4))).toEqual([]);
    expect(codesOf(copies(5))).toEqual(['COST_LIMIT_EXCEEDED']);
  });

  it('given introspection nested through its lists, then graphql\'s MaxIntrospectionDepthRule refuses it', () => {
    const query = parse('{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }');
    expect(validate(schema, query).map((error) => error.message)).toEqual(['Maximum introspection depth exceeded']);
  });

  it('given introspection aliased 16 times, then ALIAS_LIMIT_EXCEEDED', () => {
    const query = `{ ${Array.from({ length: 16 }, (_, i) => `t${i}: __type(name: "Trip") { name }`).join(' ')} }`;
    expect(codesOf(query)).toEqual(['ALIAS_LIMIT_EXCEEDED']);
  });
});

const measured = (query: string, variables?: Record<string, unknown>) => {
  const document = parse(query);
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  const result = measureOperation(document, operation, { schema, ...(variables ? { variables } : {}) });
  if ('tooComplex' in result) throw new Error('too complex');
  return result.measure;
};
const fragmentBomb = (levels: number) =>
  `{ ...F0 } ${Array.from({ length: levels }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`).join(' ')} fragment F${levels} on Query { __typename }`;

describe('measuring fragments once', () => {
  it('given 40 fragments each spreading the next twice, then the cost is 2^40 and it is refused, measured in a few visits', () => {
    expect(measured(fragmentBomb(40))).toEqual({ depth: 1, aliases: 0, cost: 2 ** 40 });
    expect(codesOf(fragmentBomb(40))).toEqual(['COST_LIMIT_EXCEEDED']);
    // 81 selections in the document: a cap of 100 visits is enough to measure it all.
    const document = parse(fragmentBomb(40));
    const operation = document.definitions[0] as OperationDefinitionNode;
    expect(measureOperation(document, operation, { maxVisits: 100 })).toMatchObject({ measure: { cost: 2 ** 40 } });
    expect(measureOperation(document, operation, { maxVisits: 50 })).toEqual({ tooComplex: true });
  });

  it('given one fragment spread at two depths, then each spread adds its own depth to where it stands', () => {
    const query = `{ trip(id: 1) { ...Deep next { next { next { ...Deep } } } } } fragment Deep on Trip { next { next { next { id } } } }`;
    // trip(1) > next > next > next (3) > Deep's next > next > next (3) > id: 8
    expect(measured(query).depth).toBe(8);
    expect(codesOf(query, { ...defaultOperationLimits, maxDepth: 7 })).toEqual(['DEPTH_LIMIT_EXCEEDED']);
  });

  it('given a fragment with aliases spread three times, then its aliases count three times', () => {
    const query = `{ trip(id: 1) { ...A next { ...A } x: next { ...A } } } fragment A on Trip { a: id b: name }`;
    expect(measured(query).aliases).toBe(7);
  });

  it('given a page of a fragment, then the fragment costs once per row', () => {
    const query = `{ trips(first: 10) { edges { node { ...T } } } } fragment T on Trip { id name }`;
    // trips 1 + 10 × (edges 1 + node 1 + id 1 + name 1)
    expect(measured(query).cost).toBe(41);
  });

  it('given a fragment cycle, then the measurement ends (validation refuses the cycle)', () => {
    const query = `{ trip(id: 1) { ...A } } fragment A on Trip { next { ...B } } fragment B on Trip { next { ...A } }`;
    expect(measured(query)).toEqual({ depth: 3, aliases: 0, cost: 3 });
    expect(validate(schema, parse(query), [...specifiedRules, operationLimitsRule(defaultOperationLimits)]).map((e) => e.message)).toEqual([
      'Cannot spread fragment "A" within itself via "B".',
    ]);
  });

  it(`given more than ${MAX_VISITS} selections, then QUERY_TOO_COMPLEX`, () => {
    const wide = `{ trip(id: 1) { ${'id '.repeat(MAX_VISITS)} } }`;
    expect(codesOf(wide, { ...defaultOperationLimits, maxCost: Infinity })).toEqual(['QUERY_TOO_COMPLEX']);
  });
});

describe('page sizes', () => {
  const page = 'query Page($n: Int) { trips(first: $n) { edges { node { id } } } }';

  it('given a page size by variable, then validation counts 1 and the request counts its value', () => {
    expect(measured(page).cost).toBe(4);
    expect(measured(page, { n: 100 }).cost).toBe(301);
    const limits = { ...defaultOperationLimits, maxCost: 100 };
    expect(codesOf(page, limits)).toEqual([]);
    expect(checkOperationCost(parse(page), { n: 30 }, limits, { schema }).map((e) => e.extensions.code)).toEqual([]);
    expect(checkOperationCost(parse(page), { n: 40 }, limits, { schema }).map((e) => e.extensions.code)).toEqual(['COST_LIMIT_EXCEEDED']);
  });

  it('given no first, then the field\'s default page counts', () => {
    expect(measured('{ myTrips { edges { node { id } } } }').cost).toBe(61);
    expect(measured('{ letters { id } }').cost).toBe(51);
    expect(measured('query ($n: Int = 7) { trips(first: $n) { edges { node { id } } } }', {}).cost).toBe(22);
  });

  it.each([-1, 0, 101, 2.5, 1e300])('given first=%s by variable, then BAD_USER_INPUT', (first) =>
    expect(checkOperationCost(parse(page), { n: first }, defaultOperationLimits, { schema }).map((e) => e.extensions.code)).toEqual(['BAD_USER_INPUT']));

  it.each([-1, 0, 101])('given first=%s by literal, then BAD_USER_INPUT before any variable is known', (first) =>
    expect(codesOf(`{ trips(first: ${first}) { edges { node { id } } } }`)).toEqual(['BAD_USER_INPUT']));

  it('given a float literal too large for a double (read as Infinity), then BAD_USER_INPUT', () => {
    const floats = buildSchema('type Query { near(lng: Float): Int }');
    const codes = (query: string) => validate(floats, parse(query), [operationLimitsRule(defaultOperationLimits)]).map((e) => e.extensions.code);
    expect(codes('{ near(lng: 1.7976931348623157e309) }')).toEqual(['BAD_USER_INPUT']);
    expect(codes('{ near(lng: 1.7976931348623157e308) }')).toEqual([]);
  });

  it.each([1, 100])('given first=%s, then it passes', (first) => expect(codesOf(`{ trips(first: ${first}) { edges { node { id } } } }`)).toEqual([]));
});

describe('rate limiter', () => {
  it('given a burst of 3 at 60/min, when 4 requests come at once, then the 4th waits about a second', () => {
    const limiter = rateLimiter({ perMinute: 60, burst: 3 });
    expect([1, 2, 3].map(() => limiter.take('p1', 0).allowed)).toEqual([true, true, true]);
    expect(limiter.take('p1', 0)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    expect(limiter.take('p2', 0).allowed).toBe(true);
    expect(limiter.take('p1', 1000).allowed).toBe(true);
  });

  it('given a rate of 0, then it never limits', () => {
    const limiter = rateLimiter({ perMinute: 0, burst: 0 });
    expect(limiter.take('p1', 0).allowed).toBe(true);
  });
});
