import { buildSchema, parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { defaultOperationLimits, operationLimitsRule } from './operation-limits.ts';
import { rateLimiter } from './rate-limit.ts';

const schema = buildSchema(`
  type Query { trip(id: ID!): Trip, trips(first: Int): Conn }
  type Conn { edges: [Edge] }
  type Edge { node: Trip }
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

  it('given an introspection query, then it is not counted', () =>
    expect(codesOf('{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } }')).toEqual([]));
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
