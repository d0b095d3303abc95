/**
 * `npm run bench:validation`: the time the gateway spends on a document before any subgraph
 * sees it: parse (with the token limit) + validate (graphql's rules and the operation limits)
 * + the variable-aware limits check, on the API schema the gateway serves. The documents: a
 * representative client operation, the fragment bomb, and the worst shapes the fuzzer
 * (tests/e2e/gateway-fuzz.e2e.spec.ts) found. Prints p50/p99 per document; writes
 * bench/results/validation.json.
 */
import { ApolloGateway } from '@apollo/gateway';
import { getIntrospectionQuery, parse, specifiedRules, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { checkOperationCost, defaultOperationLimits, operationLimitsRule } from '../gateway/src/plugins/operation-limits.ts';
import { fragmentBomb } from '../tests/support/fuzz-operations.ts';
import { percentile, round, writeResults } from './stats.ts';

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '2000' } } });
const iterations = Number(values.iterations);
const limits = defaultOperationLimits;

const gateway = new ApolloGateway({ supergraphSdl: readFileSync(new URL('../schema/supergraph.graphql', import.meta.url), 'utf8') });
const { schema } = await gateway.load();
await gateway.stop();

const tripFields = 'id state start { lng lat } end { lng lat } fare distanceKm paymentStatus createdAt updatedAt';
const documents: Array<{ name: string; query: string; variables?: Record<string, unknown> }> = [
  {
    name: 'client: trips page with passenger and driver',
    query: `query TripsPage($first: Int, $after: String) { myTrips(first: $first, after: $after) { edges { cursor node { ${tripFields} passenger { id name } driver { id name vehicle { plate model } } } } pageInfo { hasNextPage endCursor } } }`,
    variables: { first: 20 },
  },
  { name: 'fragment bomb: 40 levels x 2', query: fragmentBomb(40) },
  { name: 'fragment bomb: 70 levels x 2 (near the token limit)', query: fragmentBomb(70) },
  { name: 'fragment bomb: 40 levels x 4, paged leaf', query: fragmentBomb(40, 4, 'myTrips { edges { node { id passenger { name } } } }') },
  { name: 'introspection: getIntrospectionQuery()', query: getIntrospectionQuery() },
  { name: 'introspection: 15 aliased __schema', query: `{ ${Array.from({ length: 15 }, (_, i) => `s${i}: __schema { types { name fields { name type { name } } } }`).join(' ')} }` },
  { name: 'the same root field 90 times (overlapping-fields checks)', query: `{ ${'trip(id: "t1") { id state } '.repeat(90)}}` },
  { name: 'a 400 kB string literal (the fuzzer\'s slowest HTTP answer)', query: `{ passenger(id: "${'x'.repeat(400_000)}") { id name } }` },
  { name: 'nested 300 levels of unknown fields', query: `{ ${'a { '.repeat(300)} id ${'} '.repeat(300)}}` },
  { name: 'aliases: 60 aliased tripStats', query: `{ ${Array.from({ length: 60 }, (_, i) => `a${i}: tripStats { total }`).join(' ')} }` },
  {
    name: 'pages: 5 aliased pages of 100 by variable (cost 3,005)',
    query: `query ($n: Int) { ${['a', 'b', 'c', 'd', 'e'].map((a) => `${a}: myTrips(first: $n) { edges { node { id state passenger { name } } } }`).join(' ')} }`,
    variables: { n: 100 },
  },
];

/** What the gateway does with a document before planning: returns the error codes. */
function check(schema: GraphQLSchema, query: string, variables: Record<string, unknown> | undefined): string[] {
  let document: DocumentNode;
  try {
    document = parse(query, { maxTokens: limits.maxTokens });
  } catch {
    return ['GRAPHQL_PARSE_FAILED'];
  }
  const errors = validate(schema, document, [...specifiedRules, operationLimitsRule(limits)]);
  if (errors.length > 0) return errors.map((e) => String(e.extensions.code ?? 'GRAPHQL_VALIDATION_FAILED'));
  return checkOperationCost(document, variables ?? {}, limits, { schema }).map((e) => String(e.extensions.code));
}

const results = documents.map(({ name, query, variables }) => {
  const outcome = check(schema, query, variables);
  for (let i = 0; i < Math.min(200, iterations); i++) check(schema, query, variables); // warm-up
  const latencies: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    check(schema, query, variables);
    latencies.push(performance.now() - t0);
  }
  latencies.sort((a, b) => a - b);
  const row = { document: name, characters: query.length, outcome: outcome.length ? [...new Set(outcome)].join(', ') : 'accepted', p50Ms: round(percentile(latencies, 50)), p99Ms: round(percentile(latencies, 99)), maxMs: round(latencies.at(-1)!) };
  console.log(`${name.padEnd(62)} ${String(row.p50Ms).padStart(8)} ms p50 ${String(row.p99Ms).padStart(8)} ms p99   ${row.outcome}`);
  return row;
});

const file = writeResults('validation', {
  command: `npm run bench:validation -- --iterations ${iterations}`,
  measuredAt: new Date().toISOString(),
  what: 'parse (maxTokens) + validate (specifiedRules + operation limits) + the variable-aware limits check, per document, in one process',
  limits,
  iterations,
  results,
});
console.log(`written to ${file}`);
