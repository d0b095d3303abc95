import fc from 'fast-check';
import { ApolloServer } from '@apollo/server';
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { MAX_ENTITY_REPRESENTATIONS } from './entity-references.ts';
import { formatErrorFor } from './graphql-errors.ts';
import { subgraphSchema } from './subgraph-schema.ts';

/**
 * `_entities` through `subgraphSchema`, as a caller posting straight to a subgraph sends it:
 * whatever the representations hold, a `__resolveReference` gets only a typed reference (its
 * type name and key fields, each of its type), or the request is `BAD_USER_INPUT` and no
 * resolver runs.
 */
const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Query { ping: Int }
  type Passenger @key(fields: "id") { id: ID! name: String! }
  type Driver @key(fields: "id") { id: ID! name: String! }
  type Seat @key(fields: "car number") { car: ID! number: Int! taken: Boolean! }
  type Stub @key(fields: "id", resolvable: false) { id: ID! }
`);

function subgraph() {
  const seen: unknown[] = [];
  const reference = (ref: Record<string, unknown>) => {
    seen.push(ref);
    return { ...ref, name: 'someone', taken: false };
  };
  const schema = subgraphSchema<object>(typeDefs, {
    Passenger: { __resolveReference: reference },
    Driver: { __resolveReference: reference },
    Seat: { __resolveReference: reference },
  });
  const server = new ApolloServer({ schema, formatError: formatErrorFor({ exposeInternals: false, onInternalError: () => undefined }) });
  const entities = async (representations: unknown) => {
    const response = await server.executeOperation<{ _entities: unknown[] }>({
      query: 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Passenger { id } ... on Driver { id } ... on Seat { car number } } }',
      variables: { r: representations },
    });
    if (response.body.kind !== 'single') throw new Error('an incremental answer');
    return response.body.singleResult;
  };
  return { seen, entities };
}

// An oracle written apart from the guard: what a well-formed reference is.
const ID = /^[A-Za-z0-9_-]{1,64}$/;
const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const keysAre = (v: Record<string, unknown>, keys: string[]) => Object.keys(v).length === keys.length && keys.every((k) => Object.hasOwn(v, k));
function wellFormed(rep: unknown): boolean {
  if (!isPlain(rep)) return false;
  if (rep.__typename === 'Passenger' || rep.__typename === 'Driver') return keysAre(rep, ['__typename', 'id']) && typeof rep.id === 'string' && ID.test(rep.id);
  if (rep.__typename === 'Seat') return keysAre(rep, ['__typename', 'car', 'number']) && typeof rep.car === 'string' && ID.test(rep.car) && Number.isSafeInteger(rep.number);
  return false;
}

const operators = fc.constantFrom<unknown>({ $ne: '' }, { $regex: '.' }, { $gt: '' }, { $nin: [] }, { $exists: true }, { $where: '1' }, { $in: ['d1', 'd2'] });
const hostileScalar = fc.oneof(
  operators,
  fc.constantFrom<unknown>(null, 0, 1, -1, 1.5, true, false, '', ' ', '../etc', 'a'.repeat(65), 'x'.repeat(10_000), 'd1\u0000', 'd1 ', '*', '.*', ['d1'], [], {}),
  fc.string({ maxLength: 70 }),
  fc.stringMatching(ID),
  fc.jsonValue({ maxDepth: 2 }),
);
const typename = fc.constantFrom<unknown>('Passenger', 'Driver', 'Seat', 'Stub', 'Query', '_Service', '__Schema', 'passenger', '', null, 1, { $ne: '' });
const representation = fc.oneof(
  { weight: 3, arbitrary: fc.record({ __typename: fc.constantFrom('Passenger', 'Driver'), id: fc.stringMatching(ID) }) },
  { weight: 1, arbitrary: fc.record({ __typename: fc.constant('Seat'), car: fc.stringMatching(ID), number: fc.oneof(fc.integer(), hostileScalar) }) },
  { weight: 4, arbitrary: fc.record({ __typename: typename, id: hostileScalar }) },
  { weight: 1, arbitrary: fc.record({ __typename: typename, id: fc.stringMatching(ID), extra: hostileScalar }, { requiredKeys: ['__typename'] }) },
  { weight: 1, arbitrary: fc.oneof(hostileScalar, fc.anything({ maxDepth: 2 })) },
);

describe('_entities takes typed, bounded references only (guardEntities in subgraphSchema)', () => {
  it('given any list of representations, then either each resolver got exactly a well-formed reference, or BAD_USER_INPUT and no resolver ran', async () => {
    let refused = 0;
    const { seen, entities } = subgraph();
    await fc.assert(
      fc.asyncProperty(fc.array(representation, { maxLength: 5 }), async (representations) => {
        seen.length = 0;
        const result = await entities(representations);
        if (representations.every(wellFormed)) {
          expect(result.errors).toBeUndefined();
          // each one a fresh object with exactly the key fields: nothing the caller added
          expect(seen).toEqual(representations);
        } else {
          refused++;
          // (one error per bad item when GraphQL's own coercion refuses them: a null item)
          expect(new Set(result.errors?.map((e) => e.extensions?.code))).toEqual(new Set(['BAD_USER_INPUT']));
          expect(result.data?._entities).toBeUndefined();
          expect(seen).toEqual([]);
        }
      }),
      { numRuns: 500 },
    );
    expect(refused).toBeGreaterThan(0);
  });

  it('given the injection from issue 20, a Driver whose id is {"$ne": ""}, then BAD_USER_INPUT and the resolver never sees it', async () => {
    const { seen, entities } = subgraph();
    const result = await entities([{ __typename: 'Driver', id: { $ne: '' } }]);
    expect(result.errors?.map((e) => [e.extensions?.code, e.message])).toEqual([['BAD_USER_INPUT', "representations[0].id must be an id (1 to 64 letters, digits, '_' or '-'); got an object."]]);
    expect(seen).toEqual([]);
  });

  it('given a scalar where the list of objects belongs, then BAD_USER_INPUT (GraphQL makes it a one-item list; it is not an object)', async () => {
    const { seen, entities } = subgraph();
    expect((await entities('d1')).errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(seen).toEqual([]);
  });

  it(`given ${MAX_ENTITY_REPRESENTATIONS} representations, then all resolve; given one more, then BAD_USER_INPUT naming the bound`, async () => {
    const list = (n: number) => Array.from({ length: n }, (_, i) => ({ __typename: 'Passenger', id: `p${i}` }));
    const atBound = subgraph();
    expect((await atBound.entities(list(MAX_ENTITY_REPRESENTATIONS))).data?._entities).toHaveLength(MAX_ENTITY_REPRESENTATIONS);
    const over = subgraph();
    const refused = await over.entities(list(MAX_ENTITY_REPRESENTATIONS + 1));
    expect(refused.errors?.map((e) => [e.extensions?.code, e.message])).toEqual([['BAD_USER_INPUT', `representations holds ${MAX_ENTITY_REPRESENTATIONS + 1} entries; at most ${MAX_ENTITY_REPRESENTATIONS} per request.`]]);
    expect(over.seen).toEqual([]);
  });
});
