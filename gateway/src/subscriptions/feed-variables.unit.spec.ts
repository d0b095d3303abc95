import fc from 'fast-check';
import { buildSchema, getOperationAST, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { feedVariables } from './feed-variables.ts';

const schema = buildSchema(`
  type Query { ping: Int }
  input Near { lat: Float!, lng: Float!, tags: [String!] }
  type Trip { id: ID }
  type Subscription { tripUpdates(tripId: ID!, near: Near, limit: Int = 10): Trip }
`);
const operation = getOperationAST(parse('subscription ($t: ID!, $near: Near, $limit: Int) { tripUpdates(tripId: $t, near: $near, limit: $limit) { id } }'))!;
const DEFINED = new Set(['t', 'near', 'limit']);

const used = fc.record(
  {
    t: fc.oneof(fc.stringMatching(/^[a-z0-9-]{1,12}$/), fc.nat()),
    near: fc.option(fc.record({ lat: fc.double({ noNaN: true, noDefaultInfinity: true }), lng: fc.double({ noNaN: true, noDefaultInfinity: true }), tags: fc.array(fc.string(), { maxLength: 3 }) }), { nil: null }),
    limit: fc.integer({ min: -1000, max: 1000 }),
  },
  { requiredKeys: ['t'] },
);
const junk = fc.dictionary(
  fc.string({ maxLength: 12 }).filter((name) => !DEFINED.has(name)),
  fc.jsonValue(),
  { maxKeys: 6 },
);

/** The same object with its keys (and its nested objects' keys) in another order. */
function reordered(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((v) => reordered(v, seed));
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value);
  if (seed % 2) entries.reverse();
  return Object.fromEntries(entries.map(([k, v]) => [k, reordered(v, seed)]));
}

const keyOf = (sent: unknown) => {
  const result = feedVariables(schema, operation, sent);
  if ('errors' in result) throw new Error(result.errors.map((e) => e.message).join('; '));
  return result.key;
};

describe('a feed is keyed on the variables its subscription uses', () => {
  it('given the same used variables with different junk beside them, in any key order, then one key; the reads send only the used ones', () => {
    expect(keyOf({ t: 'trip-1', junk: 1 })).toBe(keyOf({ t: 'trip-1', other: 'x' }));
    fc.assert(
      fc.property(used, junk, junk, fc.nat(), (values, junkA, junkB, seed) => {
        const a = { ...junkA, ...values };
        const b = reordered({ ...values, ...junkB }, seed);
        expect(keyOf(a)).toBe(keyOf(b));
        const result = feedVariables(schema, operation, a);
        expect('variables' in result && Object.keys(result.variables).every((name) => DEFINED.has(name))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('given an ID sent as a number or as its string, then one key', () => {
    fc.assert(
      fc.property(fc.nat(), (n) => {
        expect(keyOf({ t: n })).toBe(keyOf({ t: String(n) }));
      }),
    );
  });

  it('given different used variables, then different keys', () => {
    fc.assert(
      fc.property(used, used, (a, b) => {
        const same = JSON.stringify(reordered(coercedLike(a), 0)) === JSON.stringify(reordered(coercedLike(b), 0));
        expect(keyOf(a) === keyOf(b)).toBe(same);
      }),
      { numRuns: 300 },
    );
  });

  it('given variables that do not fit their types, then BAD_USER_INPUT', () => {
    for (const sent of [{}, { t: { $ne: '' } }, { t: 't1', limit: 'ten' }, { t: 't1', near: { lat: 1 } }]) {
      const result = feedVariables(schema, operation, sent);
      expect('errors' in result && result.errors.every((e) => e.extensions['code'] === 'BAD_USER_INPUT')).toBe(true);
    }
  });
});

/** What coercion makes of `used` values: the ID as a string (and JSON's own -0 as 0). */
function coercedLike(values: { t: string | number; near?: unknown; limit?: number }): unknown {
  return JSON.parse(JSON.stringify({ ...values, t: String(values.t) }));
}
