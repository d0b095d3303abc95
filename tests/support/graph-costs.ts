/**
 * The real graph for the cost tests: the committed supergraph's API schema with the gateway's
 * subscriptions, its cost model, and the default limits priced by it.
 */
import { Supergraph } from '@apollo/federation-internals';
import { buildSchema, extendSchema, parse } from 'graphql';
import { readFileSync } from 'node:fs';
import { supergraphCostModel } from '../../gateway/src/plugins/cost-model.ts';
import { checkOperationCost, defaultOperationLimits, measureOperation, type OperationLimits } from '../../gateway/src/plugins/operation-limits.ts';

export const supergraphSdl = readFileSync(new URL('../../schema/supergraph.graphql', import.meta.url), 'utf8');
/** For the query planner (federation-internals holds its own copy of graphql: keep its schemas on its side). */
export const supergraph = Supergraph.build(supergraphSdl);
export const apiSchema = extendSchema(
  // The supergraph's types and fields are its API schema's (nothing is @inaccessible), plus the join__ definitions.
  buildSchema(supergraphSdl),
  parse(readFileSync(new URL('../../gateway/src/subscriptions/subscriptions.graphql', import.meta.url), 'utf8')),
);
export const costModel = supergraphCostModel(supergraphSdl);
export const limits: OperationLimits = { ...defaultOperationLimits, costModel };

/** The codes the gateway's limits answer for a query (with its variables). */
export const limitCodes = (query: string, variables: Record<string, unknown> = {}) =>
  checkOperationCost(parse(query), variables, limits, { schema: apiSchema }).map((error) => error.extensions.code);

/** The estimated cost of a document's first operation. */
export function costOf(query: string, variables: Record<string, unknown> = {}): number {
  const document = parse(query);
  const operation = document.definitions.find((d) => d.kind === 'OperationDefinition');
  if (!operation || operation.kind !== 'OperationDefinition') throw new Error(`no operation in ${query}`);
  const result = measureOperation(document, operation, { schema: apiSchema, variables, model: costModel });
  if ('tooComplex' in result) throw new Error('too complex');
  return result.measure.cost;
}
